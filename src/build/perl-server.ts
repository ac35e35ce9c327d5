// The long-lived Perl process of builds: output locks and the builders'
// pseudo-terminals, two things Node cannot do itself (flock(2), ioctl(2)).

/**
 * The lock holder and pseudo-terminal keeper, run with `perl -e` by the
 * spawn helper (and, for pseudo-terminals alone, by pty-keeper.ts).
 * Requests are lines on stdin, fields separated by tabs (store paths
 * contain neither):
 *   L <id> <file>...   lock all files (write, non-blocking) or none; answers
 *                      "<id>\tok", "<id>\tbusy" or "<id>\t<error message>"
 *   U <id> <0|1>       release the set <id>; with 1, first delete the files and
 *                      mark them stale with a byte (no answer)
 *   P <id> <log>       open a pseudo-terminal in raw mode whose output goes to
 *                      the end of the file <log>; answers "<id>\tpty\t<slave
 *                      path>" or "<id>\t<error message>"
 *   O <id>             the builder holds the slave now: drop our copy
 *   X <id>             the builder has exited: answers "<id>\tdone" once all
 *                      its output is in the log (the slave closed), or after
 *                      a second or two if something it left behind holds it
 * A lock file that a previous holder deleted (or wrote into) after we opened
 * it is opened again, Nix's convention.
 *
 * Why Perl: Nix runs builders with a pseudo-terminal as stdout and stderr,
 * and opening one takes ioctl(2)s that Node lacks (the two numbers, given
 * as TSNIX_PTY_IOCTLS, are the generic Linux TIOCSPTLCK and TIOCGPTN).
 * The output is read where the terminal was opened, so this process also
 * copies it to the log, between requests (one select(2) loop).
 */
export const PERL_SERVER = String.raw`
use strict; use warnings; use Fcntl qw(:flock O_RDWR O_CREAT O_NOCTTY O_WRONLY O_APPEND); use Errno; use POSIX ();
$| = 1;
my %held; my %pty; my $in = '';
my ($unlockReq, $numberReq) = map { hex } split / /, ($ENV{TSNIX_PTY_IOCTLS} || '');
sub lockFiles {
  my ($id, @files) = @_;
  my @fhs; my $res = 'ok';
  FILE: for my $file (@files) {
    for (;;) {
      my $fh;
      if (!sysopen($fh, $file, O_RDWR | O_CREAT, 0600)) { $res = "opening lock file '$file': $!"; last FILE; }
      if (!flock($fh, LOCK_EX | LOCK_NB)) {
        my $err = $!; my $busy = $!{EWOULDBLOCK} || $!{EAGAIN};
        close $fh;
        $res = $busy ? 'busy' : "locking '$file': $err";
        last FILE;
      }
      my @st = stat($fh);
      if ($st[7] != 0 || $st[3] == 0) { close $fh; next; }
      push @fhs, [$file, $fh];
      last;
    }
  }
  if ($res eq 'ok') { $held{$id} = \@fhs; } else { close $_->[1] for @fhs; }
  print "$id\t$res\n";
}
# What cfmakeraw(3) does, as Nix does to the terminal: no \n -> \r\n, no echo, no signals.
sub rawMode {
  my ($fd) = @_;
  my $t = POSIX::Termios->new;
  $t->getattr($fd) or return 0;
  $t->setiflag($t->getiflag & ~(POSIX::IGNBRK() | POSIX::BRKINT() | POSIX::PARMRK() | POSIX::ISTRIP() | POSIX::INLCR() | POSIX::IGNCR() | POSIX::ICRNL() | POSIX::IXON()));
  $t->setoflag($t->getoflag & ~POSIX::OPOST());
  $t->setlflag($t->getlflag & ~(POSIX::ECHO() | POSIX::ECHONL() | POSIX::ICANON() | POSIX::ISIG() | POSIX::IEXTEN()));
  $t->setcflag(($t->getcflag & ~(POSIX::CSIZE() | POSIX::PARENB())) | POSIX::CS8());
  $t->setcc(POSIX::VMIN(), 1); $t->setcc(POSIX::VTIME(), 0);
  return $t->setattr($fd, POSIX::TCSANOW());
}
sub openPty {
  my ($id, $log) = @_;
  return print "$id\tno pseudo-terminals here\n" unless $numberReq;
  my ($m, $s, $l);
  return print "$id\topening pseudoterminal master: $!\n" unless sysopen($m, '/dev/ptmx', O_RDWR | O_NOCTTY);
  my $zero = pack('i', 0); my $n = pack('I', 0);
  return print "$id\tunlocking pseudoterminal: $!\n" unless ioctl($m, $unlockReq, $zero) && ioctl($m, $numberReq, $n);
  my $slave = '/dev/pts/' . unpack('I', $n);
  return print "$id\topening pseudoterminal slave: $!\n" unless sysopen($s, $slave, O_RDWR | O_NOCTTY);
  return print "$id\tputting pseudoterminal into raw mode: $!\n" unless rawMode(fileno $s);
  return print "$id\topening '$log': $!\n" unless sysopen($l, $log, O_WRONLY | O_APPEND);
  $pty{$id} = { m => $m, s => $s, log => $l, eof => 0, deadline => undef };
  print "$id\tpty\t$slave\n";
}
# Copies what the terminal has to the log; false once the slave side is closed (EIO).
sub pump {
  my ($p) = @_;
  my $r = sysread($p->{m}, my $buf, 65536);
  if (!defined $r) { return 1 if $!{EINTR} || $!{EAGAIN}; return 0; }
  return 0 if $r == 0;
  for (my $off = 0; $off < $r; ) { my $w = syswrite($p->{log}, $buf, $r - $off, $off); last unless defined $w; $off += $w; }
  return 1;
}
sub finish {
  my ($id) = @_;
  my $p = delete $pty{$id};
  close $p->{m}; close $p->{log}; close $p->{s} if $p->{s};
  print "$id\tdone\n";
}
sub request {
  my ($op, $id, @rest) = split /\t/, $_[0];
  if ($op eq 'L') { lockFiles($id, @rest); }
  elsif ($op eq 'U') {
    for my $h (@{ delete $held{$id} || [] }) {
      if ($rest[0] && unlink($h->[0])) { syswrite($h->[1], 'd'); }
      close $h->[1];
    }
  }
  elsif ($op eq 'P') { openPty($id, $rest[0]); }
  elsif ($op eq 'O' || $op eq 'X') {
    my $p = $pty{$id} or return;
    close $p->{s} if $p->{s}; $p->{s} = undef;
    return unless $op eq 'X';
    if ($p->{eof}) { finish($id); } else { $p->{deadline} = time + 2; }
  }
}
for (;;) {
  my $rin = ''; vec($rin, fileno(STDIN), 1) = 1;
  my $timeout;
  for my $p (values %pty) {
    next if $p->{eof};
    vec($rin, fileno($p->{m}), 1) = 1;
    if (defined $p->{deadline}) { my $t = $p->{deadline} - time; $timeout = $t if !defined $timeout || $t < $timeout; }
  }
  my $n = select(my $rout = $rin, undef, undef, defined $timeout ? ($timeout > 0 ? $timeout : 0) : undef);
  if ($n < 0) { next if $!{EINTR}; die "select: $!"; }
  for my $id (keys %pty) {
    my $p = $pty{$id};
    if (vec($rout, fileno($p->{m}), 1) && !pump($p)) { $p->{eof} = 1; }
    if (defined $p->{deadline} && ($p->{eof} || time >= $p->{deadline})) { finish($id); }
  }
  if (vec($rout, fileno(STDIN), 1)) {
    my $r = sysread(STDIN, my $buf, 65536);
    if (!defined $r) { next if $!{EINTR}; last; }
    last if $r == 0;
    $in .= $buf;
    while ($in =~ s/^([^\n]*)\n//) { request($1); }
  }
}
`;

/**
 * TIOCSPTLCK and TIOCGPTN (hexadecimal), where they have the generic Linux
 * values; elsewhere (other systems, and the Linux ports with their own ioctl
 * encoding) builders write to the log directly, without a terminal.
 */
export const PTY_IOCTLS = process.platform === 'linux' && ['x64', 'ia32', 'arm64', 'arm', 'riscv64', 's390x', 'loong64'].includes(process.arch)
  ? '40045431 80045430'
  : undefined;
