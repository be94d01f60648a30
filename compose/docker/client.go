package docker

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// Ryuk, testcontainers' reaper, is an image no registry here can deliver.
// We clean up ourselves instead: Stop removes everything, and Start first
// reaps what a killed runner left (by the project label). The variable is
// read once, on the first use of testcontainers, so set it before that.
var disableRyuk = sync.OnceFunc(func() {
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
})

// newClient connects to the engine; the client negotiates the API version
// down (Docker 20.10 speaks 1.41).
func newClient(ctx context.Context) (*testcontainers.DockerClient, error) {
	disableRyuk()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("docker: no engine: %w", err)
	}
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker: engine does not answer: %w", err)
	}
	return cli, nil
}

// Available says whether a Docker engine answers; the error says why not.
func Available(ctx context.Context) error {
	cli, err := newClient(ctx)
	if err != nil {
		return err
	}
	return cli.Close()
}

// logTail is the last n lines of a container's output, for error messages.
func logTail(ctx context.Context, cli *testcontainers.DockerClient, id string, n int) string {
	rc, err := cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: fmt.Sprint(n)})
	if err != nil {
		return ""
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		return ""
	}
	return strings.TrimRight(out.String(), "\n")
}
