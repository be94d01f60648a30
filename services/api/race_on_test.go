//go:build race

package main

// raceBuild: under `go test -race` the api binary is built with -race too,
// so the integration tests also race-check the server.
const raceBuild = true
