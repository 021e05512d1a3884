package testkit

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
)

// Secrets is an in-memory Secrets Manager of string secrets by id (ARN), safe for
// concurrent use. As the service does, it answers ResourceNotFoundException for an id it
// does not hold, on reads and on writes (PutSecretValue adds a version to an existing
// secret; it never creates one).
type Secrets struct {
	mu      sync.Mutex
	values  map[string]string
	failGet bool
	failPut map[string]bool
	puts    int
}

// NewSecrets returns a Secrets holding a copy of values.
func NewSecrets(values map[string]string) *Secrets {
	s := &Secrets{values: map[string]string{}, failPut: map[string]bool{}}
	for id, v := range values {
		s.values[id] = v
	}
	return s
}

// GetSecretValue returns the secret's value.
func (s *Secrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failGet {
		return nil, accessDenied()
	}
	v, ok := s.values[aws.ToString(in.SecretId)]
	if !ok {
		return nil, notFound()
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

// PutSecretValue replaces the value of an existing secret.
func (s *Secrets) PutSecretValue(_ context.Context, in *secretsmanager.PutSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts++
	id := aws.ToString(in.SecretId)
	if s.failPut[id] {
		return nil, accessDenied()
	}
	if _, ok := s.values[id]; !ok {
		return nil, notFound()
	}
	s.values[id] = aws.ToString(in.SecretString)
	return &secretsmanager.PutSecretValueOutput{}, nil
}

// Value returns the secret's value ("" when there is no such secret).
func (s *Secrets) Value(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.values[id]
}

// Set stores value as the secret's, creating the secret if need be.
func (s *Secrets) Set(id, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[id] = value
}

// FailGets makes every GetSecretValue answer AccessDeniedException while fail is true.
func (s *Secrets) FailGets(fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failGet = fail
}

// FailPuts makes PutSecretValue of the secret id answer AccessDeniedException.
func (s *Secrets) FailPuts(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failPut[id] = true
}

// Puts counts the PutSecretValue calls, refused ones included.
func (s *Secrets) Puts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts
}

func notFound() error {
	return &smtypes.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret.")}
}

func accessDenied() error {
	return &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform this operation"}
}
