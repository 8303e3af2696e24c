#!/bin/sh
# The man pages must be clean for mandoc's linter (warnings included).
if ! command -v mandoc >/dev/null 2>&1; then
    echo "SKIP: mandoc is not installed"
    exit 77
fi
exec mandoc -T lint -W warning "$TPMTOK_SRCDIR/man/tpmtok.1" "$TPMTOK_SRCDIR/man/libtpmtok.8"
