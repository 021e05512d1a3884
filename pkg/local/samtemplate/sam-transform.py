#!/usr/bin/env python3
"""Print a SAM template after the AWS::Serverless-2016-10-31 transform, as JSON.

cfn-lint lints a SAM template by transforming it in memory, but it skips some rules on
templates that declare a transform (W2001, an unused parameter, among them), so `make
lint` also lints the transformed template this prints. It uses aws-sam-translator, the
library CloudFormation's SAM transform is built from, as cfn-lint itself does; nothing here
is written by hand but the local CodeUri (which the translator refuses) being swapped for
a placeholder S3 URI.

Usage: sam-transform.py TEMPLATE [REGION] > transformed.json
"""

import json
import os
import sys

from samtranslator.parser.parser import Parser
from samtranslator.public.exceptions import InvalidDocumentException
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse


def managed_policies():
    try:
        from cfnlint.data import Serverless
        from cfnlint.helpers import load_resource
        return load_resource(Serverless, "ManagedPolicies.json")
    except ImportError:
        return {}


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    os.environ.setdefault("AWS_DEFAULT_REGION", argv[2] if len(argv) > 2 else "us-east-1")
    with open(argv[1], encoding="utf-8") as f:
        template = yaml_parse(f.read())
    for res in template.get("Resources", {}).values():
        props = res.get("Properties") or {}
        if res.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str) \
                and not props["CodeUri"].startswith("s3://"):
            props["CodeUri"] = "s3://placeholder/code.zip"
    # Managed policy names resolve through cfn-lint's copy of IAM's list (what its own
    # transform uses), so that no call to IAM is needed.
    try:
        out = Translator(managed_policy_map=managed_policies(), sam_parser=Parser()).translate(
            sam_template=template, parameter_values={}, passthrough_metadata=True)
    except InvalidDocumentException as e:
        for cause in e.causes:
            sys.stderr.write("%s: SAM transform: %s\n" % (argv[1], cause.message))
        return 1
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
