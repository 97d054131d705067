package io.whatssound.realtime.bench;

import io.whatssound.realtime.bench.operator.OperatorScenario;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * {@code java -jar realtime-bench.jar <scenario> [options]}: runs one benchmark scenario against a
 * running runtime, prints a table and appends a CSV row under {@code bench/results/}.
 */
public final class Main {
  private static final String USAGE =
      """
      usage: java -jar bench/target/realtime-bench.jar <scenario> [options]

      scenarios:
        idle      N joined sockets held; runtime heap after GC and RSS per socket
                  --connections 10000 --per-topic 100 --hold 30
        fanout    one channel, N subscribers, one publisher at R msgs/s for D s
                  --subscribers 10000 --rate 20 --duration 20 --warmup 3 --via ws|rest --payload 100
                  --rest-connections 8 --publish-url ws://<another pod>/socket/websocket (cross-pod fan-out:
                  the publisher on one pod of a cluster, the subscribers on the --url pod)
        ramp      one channel, N subscribers, the publish rate stepped up until p99 passes the largest bound; the
                  highest delivery rate within each bound
                  --subscribers 1000 --start-rate 10 --factor 1.5 --step 5 --warmup 3 --p99-bounds 25,50,100
                  --via rest|ws --max-steps 25
        party     a listening-party mix: R rooms of L listeners, chat C msgs/s per room and playback:sync every
                  S s (REST), presence churn K/s per room; latency and server CPU per delivery
                  --rooms 50 --listeners 200 --chat-rate 5 --sync-every 2 --churn 1 --duration 30 --warmup 5
        peer      the fan-out comparison with nginx's nchan: starts the runtime and nchan in turn, pinned to
                  --server-cpus, and runs the same cases against each in alternating rounds; medians and ratios
                  (run it pinned to the other core: taskset -c 1 java -jar ... peer)
                  --rounds 3 --server-cpus 0 --cases fixed,overload,ramp,ramp10k,party --fixed-rates 10,40
                  --targets runtime,nchan (runtime:<transport> sets REALTIME_TRANSPORT, e.g. runtime:io_uring)
                  --runtime-jar realtime-runtime/target/realtime-runtime.jar --runtime-jvm "-Xms1g -Xmx1g ..."
                  --nginx nginx --nchan-module /usr/lib/nginx/modules/ngx_nchan_module.so
                  --nchan-conf bench/peer/nchan.conf --server-warmup 10
        rooms     each user in an echo channel and a 6-user channel, R msgs/s per channel
                  --users 2000 --group 6 --rate 2 --duration 30 --warmup 5
        presence  M members tracked in a channel; joins, leaves and re-tracks at R ops/s
                  --members 500 --rate 50 --duration 30 --warmup 3
        slow      N subscribers, S of them stop reading; memory, others' latency, disconnects
                  --subscribers 1000 --slow 10 --rate 100 --payload 4096 --baseline 10 --duration 40
                  --slow-rcvbuf 4096
        operator  one operator (child JVM) on Fabric8's CRUD mock API server (--api real: a kube-apiserver built by
                  e2e/build.sh) + embedded PostgreSQL, N clusters:
                  time to objects and Ready, reconciles/s, quiet-period reconciles, heap (own options: operator --help)
                  --clusters 100 --quiet 60 --settle 10 --slot-poll 30 --operator-jvm "" --out bench/results
        changes   Postgres Changes: N subscribers with an INSERT binding on public.bench_changes, a PgJDBC
                  writer inserting R rows/s for D s; rows/s per subscriber, commit-to-client latency, lost rows
                  --subscribers 100 --rate 1000 --duration 20 --warmup 3 --mode batch|tx --tick-ms 10
                  --batch-max 1000 --writers 4 (tx) --payload 100 --channels 1 --drain 60
                  --db postgres://postgres:postgres@127.0.0.1:54322/postgres --table bench_changes
                  --publication supabase_realtime --sync-commit server|on|local|off (the writer's sessions)
                  --rls-groups 10 (RLS on; subscribers get authenticated tokens with grp = g0..g9, i mod G)
                  --rls-rows share|all (share: grp = 'g' || id % G, each group sees its 1/G; all: every row)

        autoscale a SessionPool with autoscaling under a ramp: 0 -> N clients in R s through --url (the tenant's
                  Service), hold, down to L; replicas from kubectl, joins and disconnects per second; CSV and PNG
                  (bench/autoscale/run.sh sets up the single-node cluster and runs it)
                  --clients 3000 --ramp 60 --hold 150 --low 300 --after 240 --rooms 30
                  --kubectl kubectl --kubeconfig <file> --namespace listening-party --pool listening-party-main
                  --max-reconnects-per-second 20 --out bench/results/autoscale

      to compare fan-out with a plain Netty broadcast server (one write and flush per socket per message):
        java -cp bench/target/realtime-bench.jar BaselineServer 4500 2
        then fanout --url ws://127.0.0.1:4500/socket/websocket --publish-url ws://127.0.0.1:4500/socket/websocket

      common options:
        --url ws://127.0.0.1:4000/socket/websocket   --secret <REALTIME_JWT_SECRET> (or the env variable)
        --target runtime|nchan (fanout, ramp, party: nchan subscribers on <url>/<channel>,
        e.g. --url ws://127.0.0.1:8080/sub, publishing over HTTP to /pub/<channel>)
        --vsn 1.0.0|2.0.0 (2.0.0)   --binary (publish kind 3 binary frames; 2.0.0 only)
        --pid <runtime pid> (heap, RSS, CPU)   --sources 8 (127.0.0.2..127.0.0.N)   --threads <cores>
        --connect-concurrency 200   --out bench/results
      """;

  private Main() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 0 || args[0].equals("--help") || args[0].equals("help")) {
      System.out.print(USAGE);
      return;
    }
    String scenario = args[0];
    List<String> rest = Arrays.asList(args).subList(1, args.length);
    if (scenario.equals("operator")) {
      System.exit(OperatorScenario.run(rest));
    }
    if (scenario.equals("peer")) {
      try {
        System.exit(PeerScenario.run(rest));
      } catch (IllegalArgumentException e) {
        System.err.println(e.getMessage());
        System.exit(2);
      }
    }
    Options o;
    Report r;
    try {
      o = new Options(rest);
      r =
          switch (scenario) {
            case "idle" -> IdleScenario.run(o);
            case "fanout" -> FanoutScenario.run(o);
            case "ramp" -> RampScenario.run(o);
            case "party" -> PartyScenario.run(o);
            case "rooms" -> RoomsScenario.run(o);
            case "presence" -> PresenceScenario.run(o);
            case "slow" -> SlowScenario.run(o);
            case "changes" -> ChangesScenario.run(o);
            case "autoscale" -> AutoscaleScenario.run(o);
            default -> throw new IllegalArgumentException("Unknown scenario '" + scenario + "'\n" + USAGE);
          };
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    r.print();
    r.writeCsv(Path.of(o.str("out", "bench/results")));
    System.exit(0);
  }
}
