package local

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

const statsCSV = `# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,
pg_write_in,FRONTEND,,,0,0,4096,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,0,,
pg_write,pg0,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,5,0,,1,3,1,,0,,2,0,,0,L7OK,
pg_write,pg1,0,0,0,0,,0,0,0,,0,,0,0,0,0,%s,1,1,0,1,1,5,5,,1,3,2,,0,,2,0,,0,%s,
pg_write,BACKEND,0,0,0,0,410,0,0,0,0,0,,0,0,0,0,UP,1,1,0,,0,5,0,,1,3,0,,0,,1,0,,0,,
apps,app0,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN 1/2,1,1,0,1,1,5,5,,1,3,3,,0,,2,0,,0,L7OK,
`

// TestHAProxySettled: the pg backends decide; an app instance coming up
// behind the apps balancer (DOWN 1/2 in every case here) does not.
func TestHAProxySettled(t *testing.T) {
	cases := []struct {
		status, check string
		ok            bool
	}{
		{"DOWN", "L7STS", true},
		{"UP", "INI", false},       // not checked yet: counted UP by default
		{"UP 1/2", "L7STS", false}, // going down
		{"UP", "L7OK", false},      // two writable leaders
	}
	for _, c := range cases {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, fmtCSV(c.status, c.check))
		}))
		detail, err := haproxySettled(context.Background(), srv.Listener.Addr().String())
		srv.Close()
		if (err == nil) != c.ok {
			t.Errorf("%s/%s: settled=%v (%v)", c.status, c.check, err == nil, err)
		}
		if c.ok && detail != "write=pg0" {
			t.Errorf("detail %q", detail)
		}
	}
}

func fmtCSV(status, check string) string {
	return fmt.Sprintf(statsCSV, status, check)
}

func TestKafkaAPIVersions(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var size [4]byte
		_, _ = io.ReadFull(c, size[:])
		req := make([]byte, binary.BigEndian.Uint32(size[:]))
		_, _ = io.ReadFull(c, req)
		// Reply: size, same correlation id, error code 0, empty api array.
		resp := binary.BigEndian.AppendUint32(nil, 4+2+4)
		resp = append(resp, req[4:8]...)
		resp = binary.BigEndian.AppendUint16(resp, 0)
		resp = binary.BigEndian.AppendUint32(resp, 0)
		_, _ = c.Write(resp)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := kafkaAPIVersions(ctx, ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
}
