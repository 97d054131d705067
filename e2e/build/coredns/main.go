// Command coredns is CoreDNS with only the plugins the project's single-node test cluster uses: cluster names from
// the Kubernetes API (kubernetes), health and readiness endpoints, a cache, and error logging. Built from its Go
// module so that runtime pods resolve their headless discovery Service as they would in any cluster.
package main

import (
	_ "github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

func main() {
	coremain.Run()
}
