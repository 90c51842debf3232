package reliability

import (
	"io"
	"net/http"
	"testing"
)

// zeros streams n bytes of JSON-ish filler.
type zeros struct{ left int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.left <= 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > z.left {
		n = z.left
	}
	for i := int64(0); i < n; i++ {
		p[i] = ' '
	}
	z.left -= n
	return int(n), nil
}

// TestOversizedBodiesDoNotGrowMemory streams 64 MiB bodies with no declared length at
// the gateway: each is refused with 413 (or the connection is closed on the sender
// mid-body), and the process's resident memory does not grow with the body size.
func TestOversizedBodiesDoNotGrowMemory(t *testing.T) {
	dataDir := t.TempDir()
	p := start(t, dataDir)
	tok := token(t, dataDir, "--role", "frontend")
	before := p.rss(t)
	refused := 0
	for i := 0; i < 4; i++ {
		req, err := http.NewRequest(http.MethodPost, "http://"+p.HTTPAddr+"/v1/eligibility:check", &zeros{left: 64 << 20})
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = -1 // chunked: the server cannot refuse it from the headers
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			refused++ // the server answered 413 and closed while we were still sending
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("64 MiB chunked body: status %d, want 413", resp.StatusCode)
			continue
		}
		refused++
	}
	after := p.rss(t)
	if refused != 4 {
		t.Errorf("%d of 4 oversized bodies refused", refused)
	}
	if grew := after - before; grew > 16<<20 {
		t.Errorf("resident memory grew by %d MiB over 256 MiB of refused bodies", grew>>20)
	}
	t.Logf("RSS %d MiB before, %d MiB after 4 x 64 MiB refused bodies", before>>20, after>>20)
	// Still serving.
	req, _ := http.NewRequest(http.MethodGet, "http://"+p.HTTPAddr+"/readyz", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("after the oversized bodies /readyz = %v, %v", resp, err)
	}
	p.stop(t)
}
