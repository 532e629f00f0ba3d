package iam

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// sesSendNeeds is what SES v2 SendEmail needs (Service Authorization
// Reference, Amazon Simple Email Service v2:
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsimpleemailservicev2.html):
// ses:SendEmail on the sending identity (identity*), and on the
// configuration set when the request names one, with the request's
// ses:FromAddress (the bare "From" address), ses:FromDisplayName and
// ses:Recipients (SES Developer Guide, "Identity and access management in
// Amazon SES", https://docs.aws.amazon.com/ses/latest/dg/control-user-access.html,
// and "Sending policy examples",
// https://docs.aws.amazon.com/ses/latest/dg/sending-authorization-policy-examples.html).
func (c *call) sesSendNeeds(action string) ([]need, error) {
	from := c.str("FromEmailAddress")
	if from == "" {
		return nil, fmt.Errorf("%s without FromEmailAddress: the IAM layer does not read the From header of raw content", action)
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("%s FromEmailAddress %q: %w", action, from, err)
	}
	keys := map[string][]string{"ses:FromAddress": {addr.Address}, "ses:ApiVersion": {"2"}}
	if addr.Name != "" {
		keys["ses:FromDisplayName"] = []string{addr.Name}
	}
	dest, _ := c.json["Destination"].(map[string]any)
	for _, field := range []string{"ToAddresses", "CcAddresses", "BccAddresses"} {
		list, _ := dest[field].([]any)
		for _, r := range list {
			if s, ok := r.(string); ok {
				if a, err := mail.ParseAddress(s); err == nil {
					keys["ses:Recipients"] = append(keys["ses:Recipients"], a.Address)
				}
			}
		}
	}
	out := []need{{action: action, typ: "identity", sesFrom: addr.Address, keys: keys}}
	if set := c.str("ConfigurationSetName"); set != "" {
		out = append(out, need{action: action, typ: "configuration-set", arn: c.arnOf("ses", c.region, c.account, "configuration-set/"+set), keys: keys})
	}
	return out, nil
}

// sesIdentity names the identity SES sends from for address: the address
// when it is an identity of the account, else the nearest of its domain
// and that domain's parents that is one (SES: "when you verify a domain
// identity, you can send email from any subdomain or email address of the
// verified domain", https://docs.aws.amazon.com/ses/latest/dg/creating-identities.html;
// SendEmail's FromEmailAddressIdentityArn example names identity/example.com
// for sender@example.com). Which identity IAM evaluates when both the
// address and its domain are identities is not spelled out in the docs;
// the layer takes the address's, the one whose settings SES applies. With
// no identity at all it is the address's domain (SES then refuses the
// message anyway).
func (l *Layer) sesIdentity(ctx context.Context, c *call, address string) (string, error) {
	ses := sesv2.NewFromConfig(l.adminConfig(c))
	_, domain, _ := strings.Cut(address, "@")
	candidates := []string{address}
	for d := domain; strings.Contains(d, "."); {
		candidates = append(candidates, d)
		_, d, _ = strings.Cut(d, ".")
	}
	for _, id := range candidates {
		_, err := ses.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String(id)})
		var notFound *sestypes.NotFoundException
		switch {
		case err == nil:
			return id, nil
		case !errors.As(err, &notFound):
			return "", fmt.Errorf("read the SES identity %s: %w", id, err)
		}
	}
	return domain, nil
}

// secretARN returns the full ARN of the secret a request names (by name,
// partial or full ARN), read from moto; a secret that does not exist is
// evaluated under the ARN the request gave, or one built from its name
// (the call then fails as Secrets Manager answers it).
func (l *Layer) secretARN(ctx context.Context, c *call, id string) (string, error) {
	sm := secretsmanager.NewFromConfig(l.adminConfig(c))
	out, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	var notFound *smtypes.ResourceNotFoundException
	switch {
	case err == nil:
		return aws.ToString(out.ARN), nil
	case !errors.As(err, &notFound):
		return "", fmt.Errorf("describe the secret %s: %w", id, err)
	case strings.HasPrefix(id, "arn:"):
		return id, nil
	}
	return c.arnOf("secretsmanager", c.region, c.account, "secret:"+id), nil
}
