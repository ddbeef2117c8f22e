package saml

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"

	"github.com/scimbridge/scimbridge/config"
)

// FromConfig turns a validated [gate] section into Options: it reads the SP certificate and key, the IdP
// metadata file and the signed header's secret (with readFile and getenv, os.ReadFile and os.Getenv in
// main), and checks that the key belongs to the certificate.
func FromConfig(c *config.Gate, dir Directory, getenv func(string) string, readFile func(string) ([]byte, error), log *slog.Logger) (Options, error) {
	if c == nil {
		return Options{}, errors.New("saml: no [gate] section")
	}
	o := Options{
		AppName:           c.AppName,
		IDPMetadataURL:    c.IDPMetadataURL,
		MetadataRefresh:   c.IDPMetadataRefresh.Duration,
		IdentityAttribute: c.IdentityAttribute(),
		AllowIDPInitiated: c.AllowIDPInitiated,
		Directory:         dir,
		RecheckEvery:      c.RecheckEvery.Duration,
		SessionLifetime:   c.SessionLifetime.Duration,
		Bypass:            c.Bypass,
		Headers: HeaderNames{User: c.Headers.User, Email: c.Headers.Email, Roles: c.Headers.Roles,
			Groups: c.Headers.Groups, ID: c.Headers.ID, AppKey: c.Headers.AppKey},
		Log: log,
	}
	var errs []error
	var err error
	if o.Upstream, err = url.Parse(c.Upstream); err != nil {
		errs = append(errs, fmt.Errorf("gate.upstream: %w", err))
	}
	if o.PublicURL, err = url.Parse(c.PublicURL); err != nil {
		errs = append(errs, fmt.Errorf("gate.public_url: %w", err))
	}
	if o.Certificate, err = readCertificate(readFile, c.SPCertFile); err != nil {
		errs = append(errs, fmt.Errorf("gate.sp_cert_file: %w", err))
	}
	if o.Key, err = readPrivateKey(readFile, c.SPKeyFile); err != nil {
		errs = append(errs, fmt.Errorf("gate.sp_key_file: %w", err))
	}
	if o.Certificate != nil && o.Key != nil && !samePublicKey(o.Certificate.PublicKey, o.Key.Public()) {
		errs = append(errs, fmt.Errorf("gate.sp_key_file: %s is not the key of the certificate in %s", c.SPKeyFile, c.SPCertFile))
	}
	if c.IDPMetadataFile != "" {
		if o.IDPMetadata, err = readFile(c.IDPMetadataFile); err != nil {
			errs = append(errs, fmt.Errorf("gate.idp_metadata_file: %w", err))
		} else if _, err := parseIDPMetadata(o.IDPMetadata); err != nil {
			errs = append(errs, fmt.Errorf("gate.idp_metadata_file: %s: %w", c.IDPMetadataFile, err))
		}
	}
	if c.SignedHeader != nil {
		o.Headers.Signature = c.SignedHeader.Name
		if o.HeaderSecret, err = c.SignedHeaderSecret(getenv, readFile); err != nil {
			errs = append(errs, err)
		}
	}
	return o, errors.Join(errs...)
}

func readCertificate(readFile func(string) ([]byte, error), path string) (*x509.Certificate, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
	return nil, fmt.Errorf("%s holds no PEM CERTIFICATE", path)
}

func readPrivateKey(readFile func(string) ([]byte, error), path string) (crypto.Signer, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		var key any
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		switch k := key.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		}
		return nil, fmt.Errorf("%s: the key must be RSA or ECDSA, not %T", path, key)
	}
	return nil, fmt.Errorf("%s holds no PEM private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)", path)
}

func samePublicKey(a, b crypto.PublicKey) bool {
	if k, ok := a.(interface{ Equal(crypto.PublicKey) bool }); ok {
		return k.Equal(b)
	}
	return reflect.DeepEqual(a, b)
}
