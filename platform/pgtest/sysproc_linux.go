package pgtest

import "syscall"

// sysProcAttr runs a child as cred (nil: this process's user). A server child is also put
// in its own process group, so a terminal's Ctrl-C reaches only the test process, and is
// sent SIGQUIT (immediate shutdown) if the test process dies without stopping it.
func sysProcAttr(cred *syscall.Credential, server bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Credential: cred}
	if server {
		a.Setpgid = true
		a.Pdeathsig = syscall.SIGQUIT
	}
	return a
}
