# perl.sh — the Perl interpreter: a 500,000-key hash of arrays, regular expressions,
# string building, sorting and splitting.

program_perl() {
    local script=$WORK/perl-workload.pl
    cat >"$script" <<'PL'
use strict; use warnings; use Digest::MD5 qw(md5_hex);
my %h;
for my $i (1 .. 500000) {
    my $k = sprintf("key%07d", ($i * 7919) % 1000003);
    push @{ $h{$k} }, $i, "v" x ($i % 50);
}
my @keys = sort { length($a) <=> length($b) or $b cmp $a } keys %h;
my $text = join("\n", map { "$_=" . join(",", @{ $h{$_} }) } @keys[0 .. 99999]);
my @words = split /[=,\n]/, $text;
my $matches = () = $text =~ /key\d{3}7/g;
(my $copy = $text) =~ s/(\d+)/<$1>/g;
print scalar(keys %h), " ", scalar(@words), " ", $matches, " ", length($copy), " ", md5_hex($copy), "\n";
PL
    run_both perl perl "$script"
    compare_and_verdict perl "500,000-key hash, sort, regex substitution over 100,000 lines"
}
