#!/usr/bin/env bash
# Builds the seed corpora in fuzz/corpus/<target>/ from ../shared/vectors (read in place,
# never copied into the repository): every request.txt and botocore .req, behind the
# settings prefixes of src/lib.rs (flags, signing time u32 LE, selector).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vectors=${REALSIG_VECTORS:-$here/../../shared/vectors}
[ -d "$vectors" ] || { echo "seed.sh: no vectors at $vectors (set REALSIG_VECTORS)" >&2; exit 1; }

# flags: bit0 query, bit1 double-encode, bit2 normalize, bit3 content-sha256, bit4 omit token,
# bit5 SigV4a, bit6 debug, bit7 session token. Time 1440938160 (20150830T123600Z).
prefixes=('\x46\xb0\x06\xe3\x55\x00' '\x47\xb0\x06\xe3\x55\x00' '\x08\xb0\x06\xe3\x55\x08'
          '\x66\xb0\x06\xe3\x55\x02' '\xc6\xb0\x06\xe3\x55\x00' '\x97\xb0\x06\xe3\x55\x00')
for target in core_sign differential component_sign http_text; do
    mkdir -p "$here/corpus/$target"
done
n=0
while IFS= read -r -d '' file; do
    name=$(echo "$file" | sed 's|.*/vectors/||; s|[/.]|_|g')
    cp "$file" "$here/corpus/http_text/$name"
    i=0
    for prefix in "${prefixes[@]}"; do
        for target in core_sign differential component_sign; do
            { printf "$prefix"; cat "$file"; } > "$here/corpus/$target/$name-$i"
        done
        i=$((i + 1))
    done
    n=$((n + 1))
done < <(find "$vectors" \( -name request.txt -o -name '*.req' \) -print0)
echo "seed.sh: $n requests x ${#prefixes[@]} prefixes into $here/corpus"
