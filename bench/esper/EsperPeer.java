import com.espertech.esper.common.client.EPCompiled;
import com.espertech.esper.common.client.EventBean;
import com.espertech.esper.common.client.configuration.Configuration;
import com.espertech.esper.compiler.client.CompilerArguments;
import com.espertech.esper.compiler.client.EPCompilerProvider;
import com.espertech.esper.runtime.client.EPDeployment;
import com.espertech.esper.runtime.client.EPEventService;
import com.espertech.esper.runtime.client.EPRuntime;
import com.espertech.esper.runtime.client.EPRuntimeProvider;
import com.espertech.esper.runtime.client.EPStatement;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The CEP peer of `npm run bench:patterns -- --esper` (bench/patterns-esper.ts): the same events through
 * Esper, with EPL written to reproduce Nunchi's documented semantics (docs/patterns.md), so that the match
 * sets can be compared event by event. Outside the product: it only reads a file and prints.
 *
 *   java -cp .nunchi/esper/lib/*:.nunchi/esper/classes EsperPeer <events.jsonl> <matches.tsv>
 *
 * Time is event time: the internal timer is off and the runtime's clock is advanced to each event's
 * occurredAtMs before the event is sent (Esper's "external timing"), then to the end of the period so that
 * every absence timer due by then fires. Prints one JSON object on stdout: per run, the match count and the
 * cost in ns per event (the send loop only, events parsed before; the median of 3 runs after a warm-up, each
 * on a fresh runtime).
 */
public final class EsperPeer {
  /** One event of the stream, the fields the patterns read. */
  public static final class Ev {
    private final String id;
    private final String customerId;
    private final String type;
    private final String channel;
    private final long occurredAtMs;
    private final String[] categories;

    Ev(String id, String customerId, String type, String channel, long occurredAtMs, String[] categories) {
      this.id = id;
      this.customerId = customerId;
      this.type = type;
      this.channel = channel;
      this.occurredAtMs = occurredAtMs;
      this.categories = categories;
    }

    public String getId() { return id; }
    public String getCustomerId() { return customerId; }
    public String getType() { return type; }
    public String getChannel() { return channel; }
    public long getOccurredAtMs() { return occurredAtMs; }
    public String[] getCategories() { return categories; }
  }

  /** Keyed by customer, as Nunchi keeps partial matches per customer (the count's window). */
  static final String CONTEXT = "create context PerCustomer partition by customerId from Ev;\n";

  /**
   * EPL per pattern of bench/patterns-esper.ts. Each selects the id Nunchi reports the match under: the
   * completing event (sequence, count) or the anchor (absence).
   */
  static final Map<String, String> EPL = new LinkedHashMap<>();

  static {
    // A then B within 2 h, B of A's customer. Not in the keyed context: a pattern in a keyed context does not
    // see the event that allocates its partition (a customer's first event, lost as step A), so the pattern
    // correlates by customerId itself. `every a` starts an instance per A; each waits for the next B only, so a B
    // completes every A pending since the previous B: Nunchi's consumption. @SuppressOverlappingMatches
    // outputs those simultaneous matches (they share b) once: one match per completing event. Nunchi's
    // `within` is inclusive (exactly 2 h matches); Esper's timer fires at 2 h, before an event stamped then,
    // so the guard is 2 h + 1 ms (times are whole milliseconds).
    EPL.put(
        "sequence",
        "@name('sequence') select b.id as id from pattern @SuppressOverlappingMatches "
            + "[every a=Ev(type='product_view', channel='app', 'cat-1' in (categories)) -> "
            + "(b=Ev(type='visit', customerId=a.customerId) where timer:within(2 hours 1 milliseconds))]");
    // Esper's default for the same pattern, for the record: one match per pending A (overlapping).
    EPL.put(
        "sequence-overlapping",
        "@name('sequence-overlapping') select b.id as id from pattern "
            + "[every a=Ev(type='product_view', channel='app', 'cat-1' in (categories)) -> "
            + "(b=Ev(type='visit', customerId=a.customerId) where timer:within(2 hours 1 milliseconds))]");
    // Exactly the 3rd visit in the sliding window (t − 7 d, t]: a time window expires an event at its time
    // + 7 d, before an event stamped then is counted. Per customer by the keyed context (a window does see the
    // event that allocates its partition).
    EPL.put(
        "count",
        "@name('count') context PerCustomer select v.id as id from Ev(type='visit')#time(7 days) as v "
            + "having count(*) = 3");
    // No purchase within 30 d after a purchase. With after = expect, each purchase ends the pending
    // instance (`and not`) and starts one (`every`): one timer per customer, the latest anchor's, as Nunchi.
    // A timer due at an event's time fires before it (the runtime's clock reaches the due time first), as
    // Nunchi's simulation fires timers due by an event before deciding it.
    EPL.put(
        "absence",
        "@name('absence') select p.id as id from pattern "
            + "[every p=Ev(type='purchase') -> (timer:interval(30 days) and not Ev(type='purchase', customerId=p.customerId))]");
  }

  static final int MEASURED_RUNS = 3;

  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: EsperPeer <events.jsonl> <matches.tsv> [endMs]");
      System.exit(2);
    }
    List<Ev> events = read(Path.of(args[0]));
    long end = args.length > 2 ? Long.parseLong(args[2]) : events.get(events.size() - 1).getOccurredAtMs();
    String[][] runs = {
      {"sequence"}, {"count"}, {"absence"}, {"sequence", "count", "absence"}, {"sequence-overlapping"},
    };
    StringBuilder out = new StringBuilder("{\"esper\":\"")
        .append(com.espertech.esper.runtime.client.util.RuntimeVersion.RUNTIME_VERSION)
        .append("\",\"events\":").append(events.size()).append(",\"runs\":[");
    try (PrintWriter matchesOut = new PrintWriter(Files.newBufferedWriter(Path.of(args[1])))) {
      for (int r = 0; r < runs.length; r++) {
        run(events, end, runs[r], null); // warm-up: the JIT and Esper's code generation
        Map<String, List<String>> matches = new LinkedHashMap<>();
        long[] times = new long[MEASURED_RUNS];
        for (int i = 0; i < MEASURED_RUNS; i++) times[i] = run(events, end, runs[r], i == 0 ? matches : null);
        java.util.Arrays.sort(times);
        long ns = times[MEASURED_RUNS / 2]; // the median: the machine is shared
        out.append(r == 0 ? "" : ",").append("{\"patterns\":\"").append(String.join("+", runs[r]))
            .append("\",\"nsPerEvent\":").append(ns / events.size()).append(",\"matches\":{");
        int i = 0;
        for (Map.Entry<String, List<String>> m : matches.entrySet()) {
          out.append(i++ == 0 ? "" : ",").append('"').append(m.getKey()).append("\":").append(m.getValue().size());
          if (runs[r].length == 1) for (String id : m.getValue()) matchesOut.println(m.getKey() + "\t" + id);
        }
        out.append("}}");
      }
    }
    System.out.println(out.append("]}"));
  }

  /** One fresh runtime with `names` deployed; returns the nanoseconds the send loop took. */
  static long run(List<Ev> events, long end, String[] names, Map<String, List<String>> matches) throws Exception {
    Configuration config = new Configuration();
    config.getCommon().addEventType("Ev", Ev.class);
    config.getRuntime().getThreading().setInternalTimerEnabled(false);
    StringBuilder module = new StringBuilder(CONTEXT);
    for (String n : names) module.append(EPL.get(n)).append(";\n");
    EPCompiled compiled =
        EPCompilerProvider.getCompiler().compile(module.toString(), new CompilerArguments(config));
    EPRuntime runtime = EPRuntimeProvider.getRuntime("peer-" + System.nanoTime(), config);
    try {
      EPEventService events0 = runtime.getEventService();
      events0.advanceTime(events.get(0).getOccurredAtMs());
      EPDeployment deployment = runtime.getDeploymentService().deploy(compiled);
      Set<String> notArriving = new LinkedHashSet<>();
      String[] current = {null};
      for (EPStatement s : deployment.getStatements()) {
        if (s.getName() == null || !List.of(names).contains(s.getName())) continue;
        List<String> ids = new ArrayList<>();
        if (matches != null) matches.put(s.getName(), ids);
        boolean completingEvent = !s.getName().equals("absence");
        s.addListener((newEvents, oldEvents, statement, rt) -> {
          if (newEvents == null) return;
          for (EventBean e : newEvents) {
            String id = (String) e.get("id");
            // a sequence or count match must be the event just sent (not, say, an expiry re-evaluated)
            if (completingEvent && !id.equals(current[0])) notArriving.add(statement.getName() + ":" + id);
            ids.add(id);
          }
        });
      }
      long t0 = System.nanoTime();
      long now = events.get(0).getOccurredAtMs();
      for (Ev e : events) {
        if (e.getOccurredAtMs() > now) {
          now = e.getOccurredAtMs();
          events0.advanceTime(now);
        }
        current[0] = e.getId();
        events0.sendEventBean(e, "Ev");
      }
      current[0] = null;
      if (end > now) events0.advanceTime(end);
      long ns = System.nanoTime() - t0;
      if (!notArriving.isEmpty())
        throw new IllegalStateException("matches not on the event sent: " + notArriving.stream().limit(5).toList());
      return ns;
    } finally {
      runtime.destroy();
    }
  }

  static List<Ev> read(Path file) throws Exception {
    ObjectMapper json = new ObjectMapper();
    List<Ev> out = new ArrayList<>();
    try (BufferedReader in = Files.newBufferedReader(file)) {
      for (String line; (line = in.readLine()) != null; ) {
        if (line.isBlank()) continue;
        JsonNode n = json.readTree(line);
        JsonNode c = n.path("categories");
        String[] categories = new String[c.size()];
        for (int i = 0; i < categories.length; i++) categories[i] = c.get(i).asText();
        out.add(new Ev(n.get("id").asText(), n.get("customerId").asText(), n.get("type").asText(),
            n.get("channel").asText(), n.get("occurredAtMs").asLong(), categories));
      }
    }
    if (out.isEmpty()) throw new IllegalArgumentException(file + " has no events");
    return out;
  }
}
