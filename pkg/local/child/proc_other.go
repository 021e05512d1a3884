//go:build !linux

package child

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// descendants is not known without Linux's /proc: Kill reaches the process group only.
func descendants(int) []int { return nil }
