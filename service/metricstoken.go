package service

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
)

// metricsGate guards GET /metrics with Config.MetricsToken. It keeps a
// hash of the token so that the comparison takes the same time whatever
// the length of the token sent.
type metricsGate struct {
	hash []byte // nil: /metrics is open
}

func newMetricsGate(token string) metricsGate {
	if token == "" {
		return metricsGate{}
	}
	h := sha256.Sum256([]byte(token))
	return metricsGate{hash: h[:]}
}

// check admits a request with the metrics token.
func (g metricsGate) check(r *http.Request) error {
	if g.hash == nil {
		return nil
	}
	token, ok := bearerToken(r)
	h := sha256.Sum256([]byte(token))
	if !ok || subtle.ConstantTimeCompare(h[:], g.hash) != 1 {
		return unauthorized("GET /metrics needs the metrics token: send \"Authorization: Bearer TOKEN\" with the token the service was given (funcx-service serve --metrics-token-file)")
	}
	return nil
}
