# git.sh — git on a generated repository: 120 commits over 300 files with branches and
# merges, then log, diff, blame, grep, an aggressive gc (multithreaded delta search)
# and fsck. Dates and names are fixed, so every commit hash must match glibc's.

program_git() {
    local dir=$WORK/git
    mkdir -p "$dir"
    cat >"$dir/job.sh" <<'JOB'
set -e
repo=$1/$PROGRAM_ALLOCATOR
rm -rf "$repo"
export GIT_AUTHOR_NAME=pagoda GIT_AUTHOR_EMAIL=pagoda@localhost GIT_COMMITTER_NAME=pagoda \
       GIT_COMMITTER_EMAIL=pagoda@localhost GIT_AUTHOR_DATE=2024-01-01T00:00:00Z \
       GIT_COMMITTER_DATE=2024-01-01T00:00:00Z GIT_CONFIG_NOSYSTEM=1 HOME=$1
git init -q -b main "$repo"
cd "$repo"
git config gc.auto 0
mkdir dir0 dir1 dir2 dir3 dir4 dir5 dir6 dir7 dir8 dir9
for c in $(seq 1 120); do
    awk -v c="$c" 'BEGIN {
        for (k = 0; k < 25; k++) {
            f = sprintf("dir%d/file%03d.txt", (c * 7 + k) % 10, (c * 13 + k * 17) % 300)
            for (l = 0; l < 20; l++)
                printf "commit %d line %d: %s\n", c, l, substr("the quick brown fox jumps over the lazy dog", 1 + (c + l) % 30) >> f
            close(f)
        }
    }'
    git add -A
    git commit -q -m "commit $c"
    if [ $((c % 30)) -eq 0 ]; then
        git checkout -q -b "topic$c"
        echo "topic $c" >"topic$c.txt"
        git add -A && git commit -q -m "topic $c"
        git checkout -q main
        git merge -q --no-ff -m "merge topic $c" "topic$c"
    fi
done
git rev-parse HEAD
git rev-list --count --all
git log --stat --format='%H %s' | sha256sum
git diff --stat HEAD~60 HEAD | tail -1
git blame dir3/file010.txt | sha256sum
git grep -c 'lazy dog' | sha256sum
git gc -q --aggressive
git fsck --strict --no-progress
git count-objects -v | grep -E '^(count|in-pack|packs):'
JOB
    run_both git bash "$dir/job.sh" "$dir"
    compare_and_verdict git "120 commits, 4 merges, log/diff/blame/grep, gc --aggressive, fsck; HEAD $(head -c 12 "$WORK/git.pagoda.out")"
}
