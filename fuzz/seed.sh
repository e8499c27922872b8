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

# realtime_file: the forms libfaketimefs and people write, and the edges of the range.
mkdir -p "$here/corpus/realtime_file" "$here/corpus/ntp_reply"
i=0
for v in '1795341747.1234567890123456789012' '1795341747' '1795341747\n' ' 1795341747.5 ' \
         '253402300799.999999999' '253402300800' '18446744073709551615' '0' '0.000000001'; do
    printf "$v" > "$here/corpus/realtime_file/seed-$i"
    i=$((i + 1))
done
# ntp_reply: T1, T4, then a stratum-2 server reply (LI 0, v4, mode 4) and a RATE kiss.
printf '\xe9\x00\x00\x00\x00\x00\x00\x00\xe9\x00\x00\x00\x00\x10\x00\x00\x24\x02\x06\xec\x00\x00\x00\x10\x00\x00\x00\x10\x7f\x00\x00\x01\xe9\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04\x05\x06\x07\x08\xe9\x00\x00\x00\x00\x08\x00\x00\xe9\x00\x00\x00\x00\x08\x00\x00' > "$here/corpus/ntp_reply/good"
printf '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xe4\x00\x06\xec\x00\x00\x00\x00\x00\x00\x00\x00RATE\x00\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04\x05\x06\x07\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00' > "$here/corpus/ntp_reply/rate"
