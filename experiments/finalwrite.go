package experiments

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"
)

// finalWriteWithin is how long the system may take, after a run, to accept
// one write. Every run ends with it: a run that leaves the system unable to
// write has not recovered, whatever its other numbers say.
const finalWriteWithin = 20 * time.Second

func finalWrite(ctx context.Context, env *Env) Outcome {
	o := Outcome{Check: "final write succeeds", Threshold: "201 within " + finalWriteWithin.String()}
	key := fmt.Sprintf("final-%s-%s-%d", env.Variant, env.Level, time.Now().UnixNano())
	deadline := time.Now().Add(finalWriteWithin)
	hc := &http.Client{Timeout: 3 * time.Second}
	start := time.Now()
	var last string
	for attempt := 0; time.Now().Before(deadline) && ctx.Err() == nil; attempt++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, env.APIURL+"/orders",
			bytes.NewReader([]byte(`{"item_id":1,"qty":1}`)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK {
				o.Status, o.Value = Pass, time.Since(start).Seconds()
				o.Measured = fmt.Sprintf("%d after %.2fs", resp.StatusCode, o.Value)
				return o
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		wait(ctx, 250*time.Millisecond)
	}
	o.Status, o.Measured, o.Detail = Fail, "no 201", "last answer: "+last
	return o
}
