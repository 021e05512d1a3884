package webhook_test

import (
	"errors"
	"fmt"

	"github.com/repotrackr/github-integration/pkg/webhook"
)

// A delivery is checked in this order: headers, content type, signature over the raw
// body, then the payload. The values are GitHub's documented test vector ("Validating
// webhook deliveries"), with the secret in rotation: the current one first, then the
// previous one, as GITHUB_WEBHOOK_SECRET holds them.
func Example() {
	body := []byte("Hello, World!")
	signature := "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

	if err := webhook.CheckHeaders("push", "72d3162e-cc78-11e3-81ab-4c9367dc0958"); err != nil {
		fmt.Println("headers:", err)
		return
	}
	if _, err := webhook.MediaType("application/json; charset=utf-8"); err != nil {
		fmt.Println("content type:", err)
		return
	}
	v := webhook.NewVerifier("the-new-secret, It's a Secret to Everybody")
	fmt.Println("secrets:", v.Secrets())
	fmt.Println("genuine:", v.Verify(body, signature))

	err := v.Verify([]byte("Hello, World?"), signature)
	fmt.Println("tampered body:", errors.Is(err, webhook.ErrBadSignature))

	err = webhook.NewVerifier("").Verify(body, signature)
	fmt.Println("no secret configured:", errors.Is(err, webhook.ErrNoSecret))
	// Output:
	// secrets: 2
	// genuine: <nil>
	// tampered body: true
	// no secret configured: true
}

// Sign is what GitHub computes; the local stack and the sample events use it to sign
// deliveries with the development secret.
func ExampleSign() {
	fmt.Println(webhook.Sign("It's a Secret to Everybody", []byte("Hello, World!")))
	// Output: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17
}

// A webhook configured for application/x-www-form-urlencoded carries its JSON in the form
// field "payload"; the signature covers the form body exactly as sent. A form without it is refused.
func ExamplePayload() {
	body := []byte("payload=%7B%22zen%22%3A%22Keep+it+logically+awesome.%22%7D")
	f, err := webhook.MediaType("application/x-www-form-urlencoded")
	if err != nil {
		fmt.Println(err)
		return
	}
	payload, err := webhook.Payload(f, body)
	fmt.Println(string(payload), err)

	_, err = webhook.Payload(f, []byte("zen=no+payload+field"))
	fmt.Println(err != nil)
	// Output:
	// {"zen":"Keep it logically awesome."} <nil>
	// true
}
