# args.sh — the lua-compatible command line: the arg table, -e, -l, -v, -h,
# --, - (stdin), -E, LUA_INIT, bad options. Expected values are what the
# standalone lua 5.4 does (Lua manual section 7).
. "$(dirname "$0")/lib.bash"

SHOW='local t = {} for i = -3, #arg do t[#t+1] = i .. "=" .. tostring(arg[i]) end
print(table.concat(t, " ")) print("...", ...)'
printf '%s\n' "$SHOW" > "$TMP/show.lua"

out=$("$FMLUA" "$TMP/show.lua" a b)
check "arg table of a script" \
  "-3=nil -2=nil -1=$FMLUA 0=$TMP/show.lua 1=a 2=b
...	a	b" "$out"

out=$("$FMLUA" -e 'x=1' -- "$TMP/show.lua" q)
check "options go to negative indices" \
  "-3=-e -2=x=1 -1=-- 0=$TMP/show.lua 1=q
...	q" "$out"

# as lua: with no script, arg[0] is the interpreter and options are positive
out=$("$FMLUA" -e 'print(#arg, arg[0], arg[-1], arg[1])')
check "arg without a script" "2	$FMLUA	nil	-e" "$out"

out=$(printf '%s\n' "$SHOW" | "$FMLUA" - x y)
check "- runs stdin with args" \
  "-3=nil -2=nil -1=$FMLUA 0=- 1=x 2=y
...	x	y" "$out"

out=$(echo 'print("from stdin")' | "$FMLUA")
check "stdin not a terminal runs as a script" "from stdin" "$out"

out=$("$FMLUA" -e 'a = 1' -e 'print(a + 1)')
check "-e in order" "2" "$out"

out=$("$FMLUA" -l string -e 'print(string.rep("a", 3))')
check "-l mod" "aaa" "$out"
out=$("$FMLUA" -l s=string -e 'print(s.rep("b", 2))')
check "-l g=mod" "bb" "$out"

out=$("$FMLUA" -v)
contains "-v names fmlua" "fmlua " "$out"
contains "-v names Lua 5.4" "Lua 5.4" "$out"

out=$("$FMLUA" -h); rc=$?
check "-h exits 0" 0 $rc
contains "-h shows usage" "usage:" "$out"
contains "-h lists -m" "-m mod" "$out"
out=$("$FMLUA" --help)
contains "--help shows usage" "usage:" "$out"

out=$("$FMLUA" -x 2>&1); rc=$?
check "bad option exits 1" 1 $rc
contains "bad option named" "unrecognized option '-x'" "$out"
out=$("$FMLUA" -e 2>&1); rc=$?
check "-e without argument exits 1" 1 $rc
contains "-e without argument" "'-e' needs argument" "$out"

out=$(LUA_INIT='print("init")' "$FMLUA" -e 'print("e")')
check "LUA_INIT runs first" "init
e" "$out"
printf 'print("init file")\n' > "$TMP/init.lua"
out=$(LUA_INIT="@$TMP/init.lua" "$FMLUA" -e '')
check "LUA_INIT=@file" "init file" "$out"
out=$(LUA_INIT_5_4='print("54")' LUA_INIT='print("plain")' "$FMLUA" -e '')
check "LUA_INIT_5_4 wins" "54" "$out"
out=$(LUA_INIT='print("init")' LUA_PATH='/nowhere/?.lua' "$FMLUA" -E -e 'print(package.path:find("/nowhere", 1, true))')
check "-E ignores LUA_INIT and LUA_PATH" "nil" "$out"

out=$("$FMLUA" -W -e 'warn("hello")' 2>&1)
check "-W turns warnings on" "Lua warning: hello" "$out"
out=$("$FMLUA" -e 'warn("hello")' 2>&1)
check "warnings off by default" "" "$out"

finish
