package httpx

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	type body struct {
		N int `json:"n"`
	}
	for _, tc := range []struct {
		name, in, wantErr string
		want              int
	}{
		{name: "ok", in: `{"n":3}`, want: 3},
		{name: "empty", in: ``, wantErr: "request body is empty"},
		{name: "unknown field", in: `{"n":1,"m":2}`, wantErr: `unknown field "m"`},
		{name: "wrong type", in: `{"n":"x"}`, wantErr: "invalid JSON body"},
		{name: "trailing", in: `{"n":1}{"n":2}`, wantErr: "trailing data"},
		{name: "trailing brace", in: `{"n":1}}`, wantErr: "trailing data"},
		{name: "too big", in: `{"n":1,"pad":"` + strings.Repeat("x", MaxBody) + `"}`, wantErr: "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tc.in))
			var b body
			err := Decode(httptest.NewRecorder(), r, &b)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || b.N != tc.want {
				t.Fatalf("Decode = %+v, %v", b, err)
			}
		})
	}
}

func TestErrorShape(t *testing.T) {
	w := httptest.NewRecorder()
	Error(w, 418, `bad "thing"`)
	if w.Code != 418 || w.Header().Get("Content-Type") != "application/json" ||
		strings.TrimSpace(w.Body.String()) != `{"error":"bad \"thing\""}` {
		t.Fatalf("%d %q %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
}
