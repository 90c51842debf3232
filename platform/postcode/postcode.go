package postcode

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Errors returned by [Parse] and [ParseOutward]. Their text never contains
// the input, which is personal data. They read as a predicate so a caller can
// put a field name in front of them: "postcode " + err.Error() gives
// "postcode is not a UK postcode".
var (
	// ErrEmpty means the input held nothing but white space.
	ErrEmpty = errors.New("is required")
	// ErrMalformed means the input does not have the shape of a UK postcode
	// (or, for ParseOutward, of a postcode district).
	ErrMalformed = errors.New("is not a UK postcode")
)

// Postcode is a UK postcode in canonical form: upper case, with one space
// before the three-character inward code, as in "SW1A 1AA". Values made by
// [Parse] are canonical; a Postcode converted from an arbitrary string may
// not be, and its methods then give unspecified (but safe) answers.
//
// A Postcode is personal data: do not log it.
type Postcode string

// Parse reads s as a UK postcode and returns it in canonical form. It ignores
// letter case, leading and trailing white space and white space anywhere
// inside, so " sw1a1aa", "SW1A 1AA" and "sw 1a 1 aa" are all "SW1A 1AA".
//
// The outward code must have one of the shapes A9, A99, AA9, AA99, A9A or
// AA9A (A a letter, 9 a digit), and the inward code the shape 9AA with
// letters other than C, I, K, M, O and V. The Girobank postcode GIR 0AA is
// also accepted. Parse checks shape only: a well-formed postcode may not
// exist, and Crown Dependency postcodes (GY, IM, JE) are accepted. Postcodes
// of British Overseas Territories (such as ASCN 1ZZ) and BFPO numbers are
// not.
//
// Parse returns [ErrEmpty] or [ErrMalformed]; neither repeats the input.
func Parse(s string) (Postcode, error) {
	var buf [8]byte
	n, res := scan(s, &buf)
	if res != scanOK {
		return "", res.err()
	}
	if !validPostcode(buf[:n]) {
		return "", ErrMalformed
	}
	// Make room for the space before the inward code.
	copy(buf[n-2:n+1], buf[n-3:n])
	buf[n-3] = ' '
	return Postcode(buf[:n+1]), nil
}

// ParseOutward reads s as a postcode district (an outward code such as "LS1"
// or "SW1A") and returns it in upper case with no spaces. It ignores case and
// white space as [Parse] does, accepts the same outward shapes, and returns
// [ErrEmpty] or [ErrMalformed]. It is for inputs that name a district only,
// such as "courses near B1".
func ParseOutward(s string) (string, error) {
	var buf [8]byte
	n, res := scan(s, &buf)
	if res != scanOK {
		return "", res.err()
	}
	if !validOutward(buf[:n]) {
		return "", ErrMalformed
	}
	return string(buf[:n]), nil
}

// Outward returns the outward code, the part before the space: "SW1A" for
// "SW1A 1AA".
func (p Postcode) Outward() string {
	if i := strings.IndexByte(string(p), ' '); i >= 0 {
		return string(p[:i])
	}
	if len(p) > 3 {
		return string(p[:len(p)-3])
	}
	return string(p)
}

// Inward returns the inward code, the three characters after the space:
// "1AA" for "SW1A 1AA".
func (p Postcode) Inward() string {
	if i := strings.IndexByte(string(p), ' '); i >= 0 {
		return string(p[i+1:])
	}
	if len(p) > 3 {
		return string(p[len(p)-3:])
	}
	return ""
}

// District returns the postcode district, which is the outward code: "SW1A"
// for "SW1A 1AA". It is the unit the built-in directory knows about.
func (p Postcode) District() string {
	return p.Outward()
}

// Sector returns the postcode sector, the outward code, a space and the
// digit of the inward code: "SW1A 1" for "SW1A 1AA". A sector holds a few
// thousand addresses, so it is coarse enough to report on without naming
// a household.
func (p Postcode) Sector() string {
	out, in := p.Outward(), p.Inward()
	if in == "" {
		return out
	}
	if len(p) == len(out)+1+len(in) {
		// Canonical: the sector is a prefix, so no allocation.
		return string(p[:len(out)+2])
	}
	return out + " " + in[:1]
}

// scanResult says why scan stopped.
type scanResult uint8

const (
	scanOK scanResult = iota
	scanEmpty
	scanBad
)

// err maps a failed scan to the error Parse returns.
func (r scanResult) err() error {
	if r == scanEmpty {
		return ErrEmpty
	}
	return ErrMalformed
}

// scan copies the significant characters of s into buf, upper-casing ASCII
// letters and dropping white space, and returns how many there were. It
// fails for characters other than ASCII letters, digits and white space, and
// for more than seven significant characters, which no postcode has. It does
// not allocate, so Lookup can use it on every call.
func scan(s string, buf *[8]byte) (int, scanResult) {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if !unicode.IsSpace(r) {
				return 0, scanBad
			}
			i += size
			continue
		}
		i++
		switch {
		case c == ' ', c == '\t', c == '\n', c == '\r', c == '\v', c == '\f':
			continue
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		default:
			return 0, scanBad
		}
		if n == 7 {
			return 0, scanBad
		}
		buf[n] = c
		n++
	}
	if n == 0 {
		return 0, scanEmpty
	}
	return n, scanOK
}

// isLetter reports whether c is an upper-case ASCII letter.
func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' }

// isDigit reports whether c is an ASCII digit.
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// validPostcode reports whether b, upper case with no spaces, is a postcode:
// an outward code followed by an inward code, or GIR0AA.
func validPostcode(b []byte) bool {
	n := len(b)
	if n < 5 || !validInward(b[n-3:]) || !validOutward(b[:n-3]) {
		return false
	}
	return string(b[:n-3]) != "GIR" || string(b[n-3:]) == "0AA"
}

// validOutward reports whether b, upper case, has the shape of an outward
// code: A9, A99, AA9, AA99, A9A or AA9A, or the Girobank outward code GIR.
func validOutward(b []byte) bool {
	switch len(b) {
	case 2:
		return isLetter(b[0]) && isDigit(b[1])
	case 3:
		if string(b) == "GIR" {
			return true
		}
		// A99, A9A or AA9.
		return isLetter(b[0]) &&
			((isDigit(b[1]) && (isDigit(b[2]) || isLetter(b[2]))) ||
				(isLetter(b[1]) && isDigit(b[2])))
	case 4:
		// AA99 or AA9A.
		return isLetter(b[0]) && isLetter(b[1]) && isDigit(b[2]) &&
			(isDigit(b[3]) || isLetter(b[3]))
	}
	return false
}

// validInward reports whether b, upper case, is an inward code: a digit and
// two letters, none of them C, I, K, M, O or V.
func validInward(b []byte) bool {
	return len(b) == 3 && isDigit(b[0]) && inwardLetter(b[1]) && inwardLetter(b[2])
}

// inwardLetter reports whether c may appear as a letter of an inward code.
// Royal Mail leaves out C, I, K, M, O and V because handwritten they look
// like other characters.
func inwardLetter(c byte) bool {
	if !isLetter(c) {
		return false
	}
	switch c {
	case 'C', 'I', 'K', 'M', 'O', 'V':
		return false
	}
	return true
}
