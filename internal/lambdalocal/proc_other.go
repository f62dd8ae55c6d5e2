//go:build !linux

package lambdalocal

import "syscall"

type procInfo struct{}

func descendants(int) []procInfo { return nil }

func killTree([]procInfo) {}

func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func mergeTree(old, fresh []procInfo) []procInfo { return nil }

func pidsOf([]procInfo) []int { return nil }
