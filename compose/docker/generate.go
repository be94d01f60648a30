package docker

import "github.com/whatif-lab/whatif/compose"

// compose/docker-compose.yml is ComposeFile's output; the test
// TestComposeFileIsGenerated fails when they differ and rewrites the file
// when WHATIF_UPDATE_COMPOSE=1.
//go:generate env WHATIF_UPDATE_COMPOSE=1 go test -run TestComposeFileIsGenerated .

// ComposeFile is the committed compose file: the default topology (base
// 15400) with the images `make images` builds by default (tag dev).
func ComposeFile() (string, error) {
	p, err := NewProject(compose.Default(0), TaggedImages(""), DefaultPatroniTimers)
	if err != nil {
		return "", err
	}
	return p.YAML()
}
