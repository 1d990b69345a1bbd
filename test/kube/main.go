// Test control plane: a real kube-apiserver (k8s.io/kubernetes/cmd/kube-apiserver/app, run
// in-process) on an embedded etcd, for Mooring's integration tests. Not product code.
//
// Everything it needs lives in --data-dir and is created on first start, reused afterwards, so a
// stop + start on the same directory is an apiserver restart on the same etcd data with the same
// CA, serving certificate, service-account keys, admin token and (unless --port says otherwise)
// the same port:
//
//	<data-dir>/etcd/              etcd data
//	<data-dir>/pki/ca.crt         CA that signed serving.crt (give it to clients)
//	<data-dir>/pki/serving.{crt,key}
//	<data-dir>/pki/sa.key         service-account signing key (TokenRequest)
//	<data-dir>/tokens.csv         static token file: one admin user in system:masters
//	<data-dir>/endpoint.json      {"url","port","host","etcd","pid"} written once listening ports are chosen
//	<data-dir>/ready              written once /readyz answers ok (removed at start)
//
// The wrapper polls /readyz itself, from inside whatever network namespace it runs in, so a caller
// in another namespace only has to wait for the `ready` file.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

type endpoint struct {
	URL  string `json:"url"`
	Host string `json:"host"`
	Port int    `json:"port"`
	Etcd string `json:"etcd"`
	PID  int    `json:"pid"`
}

func main() {
	// A private flag set: the global one belongs to the libraries (klog and friends).
	fs := flag.NewFlagSet("kube-apiserver-test", flag.ExitOnError)
	dataDir := fs.String("data-dir", "", "directory for etcd data, keys, certs and tokens (created if missing)")
	host := fs.String("host", "127.0.0.1", "address to bind and advertise (an address of the network namespace it runs in)")
	port := fs.Int("port", 0, "secure port (0: pick a free one, or reuse the one in endpoint.json)")
	serviceCIDRs := fs.String("service-cidrs", "198.18.0.0/16,2001:db8:ffff::/108", "service cluster IP ranges (dual-stack)")
	verbosity := fs.String("verbosity", "0", "apiserver log verbosity (--v)")
	_ = fs.Parse(os.Args[1:])
	if *dataDir == "" {
		fatal(errors.New("--data-dir is required"))
	}
	// Arguments after "--" go to kube-apiserver unchanged.
	if err := run(*dataDir, *host, *port, *serviceCIDRs, *verbosity, fs.Args()); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "kube-apiserver-test: %v\n", err)
	os.Exit(1)
}

func run(dataDir, host string, port int, serviceCIDRs, verbosity string, extra []string) error {
	if err := os.MkdirAll(filepath.Join(dataDir, "pki"), 0o700); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(dataDir, "ready"))
	ip := net.ParseIP(host)
	if ip == nil {
		return fmt.Errorf("--host %q is not an IP address", host)
	}
	if port == 0 {
		if prev, err := readEndpoint(dataDir); err == nil && prev.Host == host {
			port = prev.Port
		}
	}
	if port == 0 {
		p, err := freePort(host)
		if err != nil {
			return err
		}
		port = p
	}
	token, err := ensureFiles(dataDir, ip, serviceCIDRs)
	if err != nil {
		return err
	}

	etcd, err := startEtcd(dataDir)
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	defer func() {
		etcd.Close()
		<-etcd.Server.StopNotify()
	}()
	etcdURL := "http://" + etcd.Clients[0].Addr().String()

	apiURL := "https://" + net.JoinHostPort(host, strconv.Itoa(port))
	ep := endpoint{URL: apiURL, Host: host, Port: port, Etcd: etcdURL, PID: os.Getpid()}
	if err := writeJSON(filepath.Join(dataDir, "endpoint.json"), ep); err != nil {
		return err
	}

	pki := filepath.Join(dataDir, "pki")
	args := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=" + host,
		"--advertise-address=" + host,
		"--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + filepath.Join(pki, "serving.crt"),
		"--tls-private-key-file=" + filepath.Join(pki, "serving.key"),
		"--client-ca-file=" + filepath.Join(pki, "ca.crt"),
		"--token-auth-file=" + filepath.Join(dataDir, "tokens.csv"),
		"--authorization-mode=Node,RBAC",
		"--service-account-key-file=" + filepath.Join(pki, "sa.key"),
		"--service-account-signing-key-file=" + filepath.Join(pki, "sa.key"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=" + serviceCIDRs,
		// Nothing runs the kubernetes Service's endpoints here (no kubelet, no traffic to cluster
		// IPs), and a loopback advertise address is not a valid Endpoints address.
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		"--profiling=false",
		"--v=" + verbosity,
	}
	args = append(args, extra...)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go waitReady(ctx, dataDir, apiURL, token)

	cmd := app.NewAPIServerCommand()
	cmd.SetArgs(args)
	// The command installs its own SIGTERM/SIGINT handler and shuts down gracefully; etcd is
	// closed after it returns (deferred above).
	return cmd.Execute()
}

// waitReady polls /readyz with the admin token and writes <data-dir>/ready once it answers ok.
func waitReady(ctx context.Context, dataDir, apiURL, token string) {
	caPEM, err := os.ReadFile(filepath.Join(dataDir, "pki", "ca.crt"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "kube-apiserver-test: readiness: %v\n", err)
		return
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	start := time.Now()
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, apiURL+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				msg := fmt.Sprintf("ready after %s\n", time.Since(start).Round(time.Millisecond))
				_ = os.WriteFile(filepath.Join(dataDir, "ready"), []byte(msg), 0o600)
				fmt.Fprintf(os.Stderr, "kube-apiserver-test: %s at %s", strings.TrimSpace(msg), apiURL)
				fmt.Fprintln(os.Stderr)
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func startEtcd(dataDir string) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Name = "mooring-test"
	cfg.Dir = filepath.Join(dataDir, "etcd")
	cfg.LogLevel = "error"
	// Port 0: the kernel picks; the apiserver is told the real address. The peer URL is
	// loopback-only and never used (single member).
	clientURL, _ := url.Parse("http://127.0.0.1:0")
	peerPort, err := freePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	peerURL, _ := url.Parse("http://127.0.0.1:" + strconv.Itoa(peerPort))
	cfg.ListenClientUrls = []url.URL{*clientURL}
	cfg.AdvertiseClientUrls = []url.URL{*clientURL}
	cfg.ListenPeerUrls = []url.URL{*peerURL}
	cfg.AdvertisePeerUrls = []url.URL{*peerURL}
	cfg.InitialCluster = cfg.Name + "=" + peerURL.String()
	// Tests, not durability: fsync-heavy defaults make a 2-core CI machine crawl.
	cfg.UnsafeNoFsync = true
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, err
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, errors.New("etcd did not become ready in 60s")
	}
}

// ensureFiles creates the CA, serving certificate, SA key and token file on first start and
// returns the admin token.
func ensureFiles(dataDir string, ip net.IP, serviceCIDRs string) (string, error) {
	pki := filepath.Join(dataDir, "pki")
	tokens := filepath.Join(dataDir, "tokens.csv")
	if _, err := os.Stat(tokens); err != nil {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		line := hex.EncodeToString(b) + ",mooring-admin,mooring-admin,system:masters\n"
		if err := os.WriteFile(tokens, []byte(line), 0o600); err != nil {
			return "", err
		}
	}
	raw, err := os.ReadFile(tokens)
	if err != nil {
		return "", err
	}
	token, _, _ := strings.Cut(string(raw), ",")

	if _, err := os.Stat(filepath.Join(pki, "sa.key")); err != nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return "", err
		}
		if err := writePEM(filepath.Join(pki, "sa.key"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k)); err != nil {
			return "", err
		}
	}

	caCert, caKey, err := ensureCA(pki)
	if err != nil {
		return "", err
	}
	// The serving certificate is reissued when the host address changes (same CA).
	servingCrt := filepath.Join(pki, "serving.crt")
	if c, err := readCert(servingCrt); err == nil && hasIP(c, ip) {
		return token, nil
	}
	ips := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1"), ip}
	for _, cidr := range strings.Split(serviceCIDRs, ",") {
		if _, n, err := net.ParseCIDR(strings.TrimSpace(cidr)); err == nil {
			first := make(net.IP, len(n.IP))
			copy(first, n.IP)
			first[len(first)-1]++
			ips = append(ips, first)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", err
	}
	if err := writePEM(filepath.Join(pki, "serving.key"), "EC PRIVATE KEY", keyDER); err != nil {
		return "", err
	}
	return token, writePEM(servingCrt, "CERTIFICATE", der)
}

func ensureCA(pki string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	crtPath, keyPath := filepath.Join(pki, "ca.crt"), filepath.Join(pki, "ca.key")
	if c, err := readCert(crtPath); err == nil {
		raw, err := os.ReadFile(keyPath)
		if err != nil {
			return nil, nil, err
		}
		blk, _ := pem.Decode(raw)
		if blk == nil {
			return nil, nil, errors.New("ca.key: no PEM block")
		}
		k, err := x509.ParseECPrivateKey(blk.Bytes)
		return c, k, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "mooring-test-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	if err := writePEM(keyPath, "EC PRIVATE KEY", keyDER); err != nil {
		return nil, nil, err
	}
	if err := writePEM(crtPath, "CERTIFICATE", der); err != nil {
		return nil, nil, err
	}
	c, err := x509.ParseCertificate(der)
	return c, key, err
}

func readCert(path string) (*x509.Certificate, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(raw)
	if blk == nil {
		return nil, errors.New(path + ": no PEM block")
	}
	return x509.ParseCertificate(blk.Bytes)
}

func hasIP(c *x509.Certificate, ip net.IP) bool {
	for _, a := range c.IPAddresses {
		if a.Equal(ip) {
			return true
		}
	}
	return false
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readEndpoint(dataDir string) (endpoint, error) {
	var ep endpoint
	raw, err := os.ReadFile(filepath.Join(dataDir, "endpoint.json"))
	if err != nil {
		return ep, err
	}
	return ep, json.Unmarshal(raw, &ep)
}

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
