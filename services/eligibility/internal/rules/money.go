package rules

// FormatPence formats an amount of money in pence as pounds for people, with
// thousands separators and two decimal places: 3500000 is "£35,000.00" and
// -1234 is "-£12.34".
func FormatPence(p int64) string {
	var buf [32]byte
	return string(appendPence(buf[:0], p))
}

// appendPence appends FormatPence(p) to b without allocating.
func appendPence(b []byte, p int64) []byte {
	u := uint64(p)
	if p < 0 {
		b = append(b, '-')
		u = -u // two's complement: correct for math.MinInt64 too
	}
	b = append(b, "£"...)
	pounds, pence := u/100, u%100

	var digits [32]byte // 19 digits and 6 separators at most
	i := len(digits)
	for n := 0; ; n++ {
		if n > 0 && n%3 == 0 {
			i--
			digits[i] = ','
		}
		i--
		digits[i] = byte('0' + pounds%10)
		pounds /= 10
		if pounds == 0 {
			break
		}
	}
	b = append(b, digits[i:]...)
	return append(b, '.', byte('0'+pence/10), byte('0'+pence%10))
}
