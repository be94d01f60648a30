package docker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// WriteLogs copies every container's output to w, each line prefixed with
// its service name (as local mode's --logs does). Call it before Stop:
// removal takes the logs with the container.
func (s *Stack) WriteLogs(ctx context.Context, w io.Writer) error {
	var errs []error
	for _, c := range s.proj.Default() {
		id := s.id(c.Service)
		if id == "" {
			continue
		}
		rc, err := s.cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pr, pw := io.Pipe()
		go func() {
			_, err := stdcopy.StdCopy(pw, pw, rc)
			rc.Close()
			pw.CloseWithError(err)
		}()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if _, err := fmt.Fprintf(w, "%s: %s\n", c.Service, sc.Text()); err != nil {
				pr.CloseWithError(err)
				return err
			}
		}
		if err := sc.Err(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.Service, err))
		}
	}
	return errors.Join(errs...)
}
