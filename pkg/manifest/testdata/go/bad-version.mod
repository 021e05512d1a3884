module example.com/broken

require github.com/pkg/errors 0.9.1
