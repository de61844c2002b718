#!/bin/sh
# Indents the notes for pasting into a wiki page.
sed 's/^/    /'
