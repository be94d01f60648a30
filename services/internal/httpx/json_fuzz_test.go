package httpx

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzDecode: any request body decodes into one valid JSON object or is
// refused with a message for the client, never a panic.
func FuzzDecode(f *testing.F) {
	// `{}}` and `{"n":1}]` were accepted: a stray '}' or ']' slipped past dec.More.
	for _, s := range []string{`{"n":3}`, ``, `{"n":1,"m":2}`, `{"n":"x"}`, `{"n":1}{"n":2}`, `null`, `[]`, `{"n":1e400}`,
		`{"n":9223372036854775808}`, `{"s":"\ud800"}`, `{"b":null}`, "\xef\xbb\xbf{}", `{"n":1} `, `{"n":1} x`, `{`, `"`,
		`{}}`, `{"n":1}]`, `{"n":1} 2`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var v struct {
			N int             `json:"n"`
			S string          `json:"s"`
			B *bool           `json:"b"`
			M map[string]bool `json:"m"`
		}
		err := Decode(httptest.NewRecorder(), httptest.NewRequest("POST", "/", strings.NewReader(body)), &v)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "request body ") && !strings.HasPrefix(msg, "invalid JSON body") {
				t.Fatalf("%q: error %q is not one of Decode's messages", body, msg)
			}
			return
		}
		if !json.Valid([]byte(body)) {
			t.Fatalf("accepted %q, which is not one JSON value", body)
		}
	})
}
