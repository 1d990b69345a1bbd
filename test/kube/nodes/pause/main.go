// The pod sandbox ("pause") image's only program: holds the Pod's namespaces, reaps children and
// exits on SIGINT/SIGTERM. Built static (CGO_ENABLED=0) into the image registry.k8s.io/pause:3.10
// that every node of the real test cluster imports (test/lib/real-cluster.ts).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 4)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range c {
		if s == syscall.SIGCHLD {
			for {
				var ws syscall.WaitStatus
				if pid, _ := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}
