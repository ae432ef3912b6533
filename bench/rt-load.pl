#!/usr/bin/perl
# Loads tickets into Request Tracker through its own Perl API (its REST API creates
# about 3 a second on this machine; this about 15): the subjects and descriptions of
# fixpoint-bench's dataset, and its rare word in ticket 7 of every 100,000, so that
# the search scenarios find the same thing on both. Usage: rt-load.pl <tickets>
use strict;
use warnings;
use lib '/usr/share/request-tracker5/lib';
use RT;
use MIME::Entity;
use Time::HiRes qw(time);

RT::LoadConfig();
RT::Init();
my $want = shift // 10_000;
my @problems = ('Printer offline', 'VPN drops every few minutes', 'Mailbox full',
    'Cannot log in to the accounting system', 'Laptop will not boot', 'Slow network',
    'New starter needs an account', 'Install accounting software update');
my @places = ('at reception', 'in the second floor office', 'for the sales team',
    'at the warehouse');

my $tickets = RT::Tickets->new(RT->SystemUser);
$tickets->UnLimit;
my $have = $tickets->CountAll;
my $started = time;
$RT::Handle->BeginTransaction;
for my $i ($have + 1 .. $want) {
    if ($i % 500 == 0) {
        $RT::Handle->Commit;
        $RT::Handle->BeginTransaction;
        printf STDERR "  rt dataset: %d / %d tickets\n", $i, $want;
    }
    my $rare = $i % 100_000 == 7 ? ' quasar' : '';
    my $subject = $problems[$i % @problems] . ' ' . $places[$i % @places] . $rare;
    my $ticket = RT::Ticket->new(RT->SystemUser);
    my ($id, undef, $message) = $ticket->Create(
        Queue    => 'General',
        Subject  => $subject,
        Priority => $i % 100,
        MIMEObj  => MIME::Entity->build(
            Data => ["Reported by phone. Ticket $i of the benchmark dataset."],
            Type => 'text/plain', Charset => 'UTF-8'),
    );
    die "ticket $i: $message\n" unless $id;
}
$RT::Handle->Commit;
printf STDERR "rt dataset: %d tickets (%d loaded in %.0f s)\n", $want, $want - $have,
    time - $started;
