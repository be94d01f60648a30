package docker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// Reap removes every container, volume and network of the stack at base: what a
// runner killed mid-run (even by SIGKILL) left behind. Nothing outside the
// project label is touched.
func Reap(ctx context.Context, base int) error {
	cli, err := newClient(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	return reap(ctx, cli, ProjectName(base))
}

func reap(ctx context.Context, cli *testcontainers.DockerClient, project string) error {
	f := client.Filters{}.Add("label", labelProject+"="+project)
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return err
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	// Services first, then the hosts whose network namespaces they use.
	slices.SortStableFunc(list.Items, func(a, b container.Summary) int {
		return cmp.Compare(a.Labels[labelRole], b.Labels[labelRole])
	})
	role := ""
	for _, c := range list.Items {
		if r := c.Labels[labelRole]; r != role {
			wg.Wait()
			role = r
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Force: SIGKILL, also of a paused container.
			_, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			if err != nil && !isNotFound(err) {
				mu.Lock()
				errs = append(errs, fmt.Errorf("remove container %s: %w", c.ID[:12], err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	vols, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		errs = append(errs, err)
	} else {
		for _, v := range vols.Items {
			if _, err := cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !isNotFound(err) {
				errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
			}
		}
	}
	nets, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, n := range nets.Items {
		if _, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
		}
	}
	return errors.Join(errs...)
}

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }
