package daemon

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"path/filepath"

	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/tlsconf"
)

// BrokerCAFile is the CA file a daemon of p trusts, besides the system's
// roots, for the certificate of an amqps:// broker (Handoff.BrokerCAFile):
// broker_ca_file of config.toml (relative to the profile directory),
// else serviceCA, the CA file the client trusts for the service; empty
// when neither is set. It is read here, so that a bad one stops a start
// before anything runs, and made absolute: the daemon runs in /.
func BrokerCAFile(p *profile.Profile, file profile.File, serviceCA string) (string, error) {
	ca, what := serviceCA, "the CA file"
	if file.BrokerCAFile != "" {
		ca, what = file.BrokerCAFile, "broker_ca_file of "+p.Path(profile.ConfigFile)
		if !filepath.IsAbs(ca) {
			ca = filepath.Join(p.Dir(), ca)
		}
	}
	if ca == "" {
		return "", nil
	}
	ca, err := filepath.Abs(ca)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if _, err := tlsconf.Roots(ca); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return ca, nil
}

// brokerTLS is the TLS configuration of the amqps:// link: nil (the
// system's roots) without a CA file.
func brokerTLS(caFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, nil
	}
	c, err := tlsconf.Client(caFile)
	if err != nil {
		return nil, fmt.Errorf("the broker's CA file: %w", err)
	}
	return c, nil
}

// brokerCertError explains a broker certificate the daemon refused; nil
// if err is not about the certificate. Retrying does not mend it.
func brokerCertError(brokerURL string, err error) error {
	p := tlsconf.Problem(err)
	if p == "" {
		return nil
	}
	host := "(unparsable URL)"
	if u, perr := url.Parse(brokerURL); perr == nil {
		host = u.Scheme + "://" + u.Host
	}
	advice := "check the broker's certificate and the host name in the service's --endpoint-amqp-url"
	if tlsconf.UnknownAuthority(err) {
		advice = "if a private CA signed it, set broker_ca_file in config.toml, or pass --ca-file or set FUNCX_CA_FILE, to that CA's PEM certificate"
	}
	return fmt.Errorf("the broker at %s is not trusted: %s; %s: %w", host, p, advice, err)
}
