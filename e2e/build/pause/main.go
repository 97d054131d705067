// Command pause is the sandbox process of every pod on the project's single-node test cluster: it holds the pod's
// namespaces, reaps orphaned children (it is PID 1 when a pod shares its process namespace) and exits on SIGINT or
// SIGTERM. containerd runs it from a local image, since the cluster has no registry to pull one from.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
