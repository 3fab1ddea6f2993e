#!/usr/bin/env python3
"""docs/reference.md must be exactly what `sluice help --reference` prints
from the options tables that validation uses; regenerate it with
  build/src/cli/sluice help --reference > docs/reference.md
Usage: reference_doc_test.py SLUICE SOURCE_ROOT"""
import os
import subprocess
import sys

sluice, root = sys.argv[1], sys.argv[2]
want = subprocess.run([sluice, "help", "--reference"], check=True, capture_output=True,
                      text=True).stdout
with open(os.path.join(root, "docs", "reference.md")) as f:
    have = f.read()
if have != want:
    print("docs/reference.md is stale: regenerate it with\n"
          "  build/src/cli/sluice help --reference > docs/reference.md")
    sys.exit(1)
print("docs/reference.md matches the options tables")
