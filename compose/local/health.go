package local

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/whatif-lab/whatif/compose"
)

// pollEvery is how often a health condition is re-checked while waiting.
const pollEvery = 50 * time.Millisecond

// errExited means the process we were waiting on died.
var errExited = errors.New("process exited")

// awaitHealthy re-runs check until it succeeds, ctx ends, or the process
// exits (exited may be nil). It reports the last check error on timeout.
func awaitHealthy(ctx context.Context, p *proc, check func(context.Context) error) error {
	var exited <-chan struct{}
	if p != nil {
		exited = p.done
	}
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := check(cctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not healthy in time: %w (last check: %v)", ctx.Err(), err)
		case <-exited:
			return fmt.Errorf("%w: %v (last check: %v)", errExited, p.err, err)
		case <-tick.C:
		}
	}
}

var httpClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// httpGet returns status and body of a GET.
func httpGet(ctx context.Context, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}

func httpOK(ctx context.Context, url string) error {
	code, body, err := httpGet(ctx, url)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", url, code, strings.TrimSpace(string(body)))
	}
	return nil
}

func etcdHealthy(ctx context.Context, hostport string) error {
	code, body, err := httpGet(ctx, "http://"+hostport+"/health")
	if err != nil {
		return err
	}
	if code != http.StatusOK || !strings.Contains(string(body), `"true"`) {
		return fmt.Errorf("etcd /health: %d %s", code, body)
	}
	return nil
}

// patroniState is the part of Patroni's GET /patroni we use.
type patroniState struct {
	State string `json:"state"`
	Role  string `json:"role"` // master|primary|replica
	// Replication lists the leader's WAL senders.
	Replication []struct {
		Application string `json:"application_name"`
		State       string `json:"state"`
	} `json:"replication"`
}

func (s patroniState) leader() bool { return s.Role == "master" || s.Role == "primary" }

func patroniStatus(ctx context.Context, restAddr string) (patroniState, error) {
	var st patroniState
	_, body, err := httpGet(ctx, "http://"+restAddr+"/patroni")
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return st, fmt.Errorf("patroni status: %w", err)
	}
	return st, nil
}

// pgQuery runs one single-value query on a fresh connection. The simple
// protocol works through PgBouncer's transaction pooling too.
func pgQuery(ctx context.Context, hostport, query string, dst any) error {
	cfg, err := pgx.ParseConfig(compose.PGURL(hostport) + "&connect_timeout=2")
	if err != nil {
		return err
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.QueryRow(ctx, query).Scan(dst)
}

// pgPrimary checks that hostport reaches a writable postgres.
func pgPrimary(ctx context.Context, hostport string) error {
	var inRecovery bool
	if err := pgQuery(ctx, hostport, "SELECT pg_is_in_recovery()", &inRecovery); err != nil {
		return err
	}
	if inRecovery {
		return fmt.Errorf("%s reaches a server in recovery", hostport)
	}
	return nil
}

// pgNodeHealthy is "running as leader, or as a replica whose WAL receiver
// streams". It asks the node's own Patroni and postgres directly.
func pgNodeHealthy(ctx context.Context, restAddr, pgAddr string) (string, error) {
	st, err := patroniStatus(ctx, restAddr)
	if err != nil {
		return "", err
	}
	if st.State != "running" {
		return "", fmt.Errorf("patroni state %q role %q", st.State, st.Role)
	}
	if st.leader() {
		if err := httpOK(ctx, "http://"+restAddr+"/primary"); err != nil {
			return "", err
		}
		return "leader", nil
	}
	var status string
	if err := pgQuery(ctx, pgAddr, "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')", &status); err != nil {
		return "", err
	}
	if status != "streaming" {
		return "", fmt.Errorf("replica wal receiver %q", status)
	}
	if err := httpOK(ctx, "http://"+restAddr+"/replica"); err != nil {
		return "", err
	}
	return "replica", nil
}

// haproxyServers reads the stats CSV: backend/server -> status ("UP",
// "DOWN", "UP 1/2", ...) and last check status ("INI" before the first).
type haServer struct{ Status, Check string }

func haproxyServers(ctx context.Context, statsAddr string) (map[string]haServer, error) {
	code, body, err := httpGet(ctx, "http://"+statsAddr+"/stats;csv")
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("haproxy stats: %d", code)
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(body), "# ")))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) < 1 {
		return nil, fmt.Errorf("haproxy stats csv: %v", err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	get := func(row []string, name string) string {
		if i, ok := col[name]; ok && i < len(row) {
			return row[i]
		}
		return ""
	}
	out := map[string]haServer{}
	for _, row := range rows[1:] {
		sv := get(row, "svname")
		if sv == "FRONTEND" || sv == "BACKEND" {
			continue
		}
		out[get(row, "pxname")+"/"+sv] = haServer{Status: get(row, "status"), Check: get(row, "check_status")}
	}
	return out, nil
}

// haproxySettled: every checked server has been checked at least once and
// is firmly UP or DOWN, and exactly one leader is UP for writes. HAProxy
// counts servers UP before their first check, so a SELECT alone could pass
// while the replica is still in the write pool.
func haproxySettled(ctx context.Context, statsAddr string) (string, error) {
	srv, err := haproxyServers(ctx, statsAddr)
	if err != nil {
		return "", err
	}
	var up []string
	for name, s := range srv {
		// The apps load balancer's servers come and go with the app
		// instances (app-oom kills them on purpose): HAProxy's health is
		// the database paths'.
		if !strings.HasPrefix(name, "pg_") {
			continue
		}
		if s.Check == "INI" || (s.Status != "UP" && s.Status != "DOWN" && s.Status != "no check") {
			return "", fmt.Errorf("haproxy %s not settled: %s/%s", name, s.Status, s.Check)
		}
		if strings.HasPrefix(name, "pg_write/") && s.Status == "UP" {
			up = append(up, strings.TrimPrefix(name, "pg_write/"))
		}
	}
	if len(up) != 1 {
		return "", fmt.Errorf("haproxy write backend has %d servers up: %v", len(up), up)
	}
	return "write=" + up[0], nil
}

// redisPing speaks RESP directly: go-redis would log its dial failures to
// stderr while redis is still starting.
// haproxyHealthy: servers settled, exactly one writable leader behind the
// write port, and reads served — by every node that Patroni reports as a
// replica (not by the leader as backup) once there is one.
func haproxyHealthy(ctx context.Context, ha compose.Service, rests map[string]string) (string, error) {
	detail, err := haproxySettled(ctx, addr(ha.Port("stats")))
	if err != nil {
		return "", err
	}
	srv, err := haproxyServers(ctx, addr(ha.Port("stats")))
	if err != nil {
		return "", err
	}
	for node, rest := range rests {
		if httpOK(ctx, "http://"+rest+"/replica") == nil && srv["pg_read/"+node].Status != "UP" {
			return "", fmt.Errorf("replica %s not yet up behind the read port", node)
		}
	}
	if err := pgPrimary(ctx, addr(ha.Port("main"))); err != nil {
		return "", fmt.Errorf("write port: %w", err)
	}
	var one int
	if err := pgQuery(ctx, addr(ha.Port("read")), "SELECT 1", &one); err != nil {
		return "", fmt.Errorf("read port: %w", err)
	}
	return detail, nil
}

// dialDeadline connects and carries ctx's deadline onto the connection, so
// a server that accepts but never answers cannot hang a health check.
func dialDeadline(ctx context.Context, hostport string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", hostport)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	return conn, nil
}

func redisPing(ctx context.Context, hostport string) error {
	conn, err := dialDeadline(ctx, hostport)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "*1\r\n$4\r\nPING\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("redis PING: %w", err)
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("redis PING: %q", strings.TrimSpace(line))
	}
	return nil
}

// kafkaAPIVersions sends an ApiVersions v0 request and checks the reply's
// correlation id and error code: proof that a Kafka protocol server answers.
func kafkaAPIVersions(ctx context.Context, hostport string) error {
	conn, err := dialDeadline(ctx, hostport)
	if err != nil {
		return err
	}
	defer conn.Close()
	const corr = 0x77686174
	clientID := "whatif-health"
	// size | api_key=18 | api_version=0 | correlation_id | client_id (int16 len + bytes)
	req := binary.BigEndian.AppendUint32(nil, uint32(2+2+4+2+len(clientID)))
	req = binary.BigEndian.AppendUint16(req, 18)
	req = binary.BigEndian.AppendUint16(req, 0)
	req = binary.BigEndian.AppendUint32(req, corr)
	req = binary.BigEndian.AppendUint16(req, uint16(len(clientID)))
	req = append(req, clientID...)
	if _, err := conn.Write(req); err != nil {
		return err
	}
	var hdr [10]byte // size, correlation id, error code
	if _, err := io.ReadFull(bufio.NewReader(conn), hdr[:]); err != nil {
		return fmt.Errorf("kafka ApiVersions: %w", err)
	}
	if got := binary.BigEndian.Uint32(hdr[4:8]); got != corr {
		return fmt.Errorf("kafka ApiVersions: correlation id %x", got)
	}
	if code := int16(binary.BigEndian.Uint16(hdr[8:10])); code != 0 {
		return fmt.Errorf("kafka ApiVersions: error code %d", code)
	}
	return nil
}
