//go:build !linux

package pgtest

import "syscall"

// sysProcAttr runs a child as cred (nil: this process's user). Without Linux's
// parent-death signal, a server outlives a test process that dies without stopping it.
func sysProcAttr(cred *syscall.Credential, server bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: server}
}
