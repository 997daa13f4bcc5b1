# expand.awk — builds an upgrade script from its parts (the files given as arguments), with the
# install parts named in the variable `install` (space-separated).
#
# A part's line "-- @block NAME" becomes the install parts' block between "-- @begin NAME" and
# "-- @end NAME", with CREATE FUNCTION and CREATE VIEW at the start of a line turned into
# CREATE OR REPLACE: an object's definition has one home, its install part, and the upgrade
# replaces the old definition with it.  Everything else in a part is copied as it is.
BEGIN {
  n = split(install, files, " ")
  for (i = 1; i <= n; i++) {
    name = ""
    while ((getline line < files[i]) > 0) {
      if (line ~ /^-- @begin /) {
        name = substr(line, 11)
        if (name in block) { print "expand.awk: block " name " is defined twice" > "/dev/stderr"; exit 1 }
        block[name] = ""
        continue
      }
      if (line ~ /^-- @end /) { name = ""; continue }
      if (name == "") continue
      sub(/^CREATE FUNCTION /, "CREATE OR REPLACE FUNCTION ", line)
      sub(/^CREATE VIEW /, "CREATE OR REPLACE VIEW ", line)
      block[name] = block[name] line "\n"
    }
    close(files[i])
  }
}
/^-- @block / {
  name = substr($0, 11)
  if (!(name in block)) { print "expand.awk: no install block named " name > "/dev/stderr"; failed = 1; exit 1 }
  printf "%s", block[name]
  next
}
{ print }
