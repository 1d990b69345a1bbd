// Node binaries of the real test cluster (docs/real-cluster.md): kubelet, kube-scheduler,
// kube-controller-manager, kube-proxy and kubectl, built from the same k8s.io/kubernetes module and
// versions as the apiserver in test/kube (this go.mod is test/kube's, plus what these commands add).
// The blank imports keep `go mod tidy` from dropping their dependencies; test/lib/real-cluster.ts
// builds `k8s.io/kubernetes/cmd/<name>` from this module.

//go:build tools

package nodes

import (
	_ "go.etcd.io/etcd/server/v3/embed" // keeps every shared dependency at test/kube's version
	_ "k8s.io/kubectl/pkg/cmd"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	_ "k8s.io/kubernetes/cmd/kube-proxy/app"
	_ "k8s.io/kubernetes/cmd/kube-scheduler/app"
	_ "k8s.io/kubernetes/cmd/kubelet/app"
)
