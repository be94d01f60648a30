package experiments

// AdminTokener is a Stack whose API admin endpoints need a bearer token:
// in the compose stack the runner's requests reach the API through
// docker's port publishing, from the bridge gateway, not from loopback.
type AdminTokener interface {
	AdminToken() string
}

// adminToken is the stack's admin token, "" when loopback suffices.
func adminToken(st Stack) string {
	if t, ok := st.(AdminTokener); ok {
		return t.AdminToken()
	}
	return ""
}
