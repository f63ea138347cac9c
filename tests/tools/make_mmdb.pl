#!/usr/bin/perl
# Writes a MaxMind-format database for tests with Debian's
# libmaxmind-db-writer-perl: make_mmdb.pl OUT TYPE JSON (or @FILE)
# where JSON maps networks to records in MaxMind's layout, e.g.
#   {"81.2.69.0/24": {"country": {"iso_code": "GB", "names": {"en": "United Kingdom"}},
#                     "city": {"names": {"en": "London"}}},
#    "2a02:cf40::/29": {"autonomous_system_number": 64500,
#                       "autonomous_system_organization": "Example AS"}}
# IPv4 networks are also reachable through ::ffff:0:0/96 (as MaxMind's are).
use strict;
use warnings;
use JSON::PP;
use MaxMind::DB::Writer::Tree;

die "usage: make_mmdb.pl OUT TYPE JSON\n" unless @ARGV == 3;
my ($out, $type, $json) = @ARGV;
# "@FILE": the JSON is in FILE (large tables do not fit an argument).
if ($json =~ /^@(.+)$/s) {
    open my $in, '<:raw', $1 or die "cannot read $1: $!\n";
    local $/;
    $json = <$in>;
}
my $networks = JSON::PP->new->decode($json);

my %types = (
    country => 'map', city => 'map', names => 'map', en => 'utf8_string',
    iso_code => 'utf8_string', country_code => 'utf8_string',
    autonomous_system_number => 'uint32', autonomous_system_organization => 'utf8_string',
);
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version => 6,
    record_size => 24,
    database_type => $type,
    languages => ['en'],
    description => { en => 'rustnet test database' },
    map_key_type_callback => sub { $types{ $_[0] } // 'utf8_string' },
    alias_ipv6_to_ipv4 => 1,
    remove_reserved_networks => 0,
);
for my $network (sort keys %$networks) {
    $tree->insert_network($network, $networks->{$network});
}
# Written beside the target and renamed into place, as geoipupdate does.
my $tmp = "$out.tmp.$$";
open my $fh, '>:raw', $tmp or die "cannot write $tmp: $!\n";
$tree->write_tree($fh);
close $fh or die "cannot write $tmp: $!\n";
rename $tmp, $out or die "cannot rename $tmp to $out: $!\n";
