// Controllers mode: kubectl apply of a 100-replica Deployment to all pods bound, and server RSS with 1,000 pods on 10 nodes.
using System.Diagnostics;
using System.Text.Json.Nodes;

static class ControllersBench
{
    const int Nodes = 10;
    const int Replicas = 100;
    const string Kubectl = "/usr/bin/kubectl";

    public static async Task<int> RunAsync(string dll, int rounds)
    {
        var root = Directory.CreateTempSubdirectory("runtime-controllers-").FullName;
        try
        {
            Console.WriteLine($"appliance-runtime controllers benchmark: {dll}");
            Console.WriteLine($"machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}; {Nodes} simulated nodes (Node + Lease renewed every 10 s)");
            await using var server = await Server.StartAsync(dll, Path.Combine(root, "data"), Server.FreePort());
            using var http = server.Client(16);
            await Task.Delay(TimeSpan.FromSeconds(5));
            var idle = server.RssMb();
            Console.WriteLine($"RSS idle (controllers running, no nodes): {idle:F1} MB");

            using var stop = new CancellationTokenSource();
            for (int n = 0; n < Nodes; n++) await RegisterNodeAsync(http, n);
            var leases = Task.Run(() => RenewLeasesAsync(http, stop.Token));

            // 1. kubectl apply of a 100-replica Deployment until every pod has spec.nodeName, in a fresh namespace per round.
            var times = new List<double>();
            for (int round = 0; round < rounds; round++)
            {
                var ns = $"round-{round}";
                await Server.SendAsync(http, HttpMethod.Post, "/api/v1/namespaces", new JsonObject { ["metadata"] = new JsonObject { ["name"] = ns } });
                var file = Path.Combine(root, $"{ns}.yaml");
                File.WriteAllText(file, DeploymentYaml("web", ns, Replicas));
                var watch = WaitBoundAsync(server, ns, Replicas);
                var sw = Stopwatch.StartNew();
                await RunKubectlAsync(server, "apply", "-f", file);
                await watch;
                times.Add(sw.Elapsed.TotalSeconds);
                Console.WriteLine($"  round {round + 1}: {Replicas} pods bound {sw.Elapsed.TotalSeconds:F2} s after kubectl apply started");
                await RunKubectlAsync(server, "delete", "namespace", ns, "--wait=true", "--timeout=120s");
            }
            times.Sort();
            var median = times[times.Count / 2];
            var rate = Replicas / median;
            Console.WriteLine($"kubectl apply of a {Replicas}-replica Deployment to all pods bound, median of {rounds}: {median:F2} s = {rate:F0} pods/s");
            Console.WriteLine($"  ratio vs upstream's scheduling-throughput SLO (100 pods/s on reference hardware): {rate / 100:F2}");

            // 2. RSS with 1,000 pods on 10 nodes, each reported Running by a kubelet stand-in.
            await Server.SendAsync(http, HttpMethod.Post, "/api/v1/namespaces", new JsonObject { ["metadata"] = new JsonObject { ["name"] = "load" } });
            var allBound = WaitBoundAsync(server, "load", Replicas * Nodes);
            var loadSw = Stopwatch.StartNew();
            for (int d = 0; d < Nodes; d++)
            {
                var file = Path.Combine(root, $"load-{d}.yaml");
                File.WriteAllText(file, DeploymentYaml($"app-{d}", "load", Replicas));
                await RunKubectlAsync(server, "apply", "-f", file);
            }
            await allBound;
            Console.WriteLine($"{Replicas * Nodes} pods (10 Deployments) bound in {loadSw.Elapsed.TotalSeconds:F1} s");
            await MarkRunningAsync(http, "load");
            await Task.Delay(TimeSpan.FromSeconds(10));
            var loaded = server.RssMb();
            Console.WriteLine($"RSS with {Replicas * Nodes} Running pods on {Nodes} nodes: {loaded:F1} MB (idle {idle:F1} MB; ratio {loaded / idle:F2}, +{loaded - idle:F0} MB)");
            await stop.CancelAsync();
            await leases;
            return 0;
        }
        finally
        {
            try { Directory.Delete(root, true); } catch (IOException) { }
        }
    }

    static string DeploymentYaml(string name, string ns, int replicas) => string.Join('\n',
        "apiVersion: apps/v1",
        "kind: Deployment",
        $"metadata: {{name: {name}, namespace: {ns}}}",
        "spec:",
        $"  replicas: {replicas}",
        $"  selector: {{matchLabels: {{app: {name}}}}}",
        "  template:",
        $"    metadata: {{labels: {{app: {name}}}}}",
        "    spec:",
        "      containers:",
        "      - name: web",
        "        image: registry.local/web:1.0",
        "        resources: {requests: {cpu: 10m, memory: 16Mi}}",
        "");

    static async Task RegisterNodeAsync(HttpClient http, int n)
    {
        var name = $"node-{n}";
        await Server.SendAsync(http, HttpMethod.Post, "/api/v1/nodes", new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["kubernetes.io/hostname"] = name, ["kubernetes.io/os"] = "linux" } },
        });
        var capacity = new JsonObject { ["cpu"] = "32", ["memory"] = "64Gi", ["pods"] = "110", ["ephemeral-storage"] = "100Gi" };
        await Server.SendAsync(http, HttpMethod.Patch, $"/api/v1/nodes/{name}/status", new JsonObject
        {
            ["status"] = new JsonObject
            {
                ["capacity"] = capacity,
                ["allocatable"] = capacity.DeepClone(),
                ["addresses"] = new JsonArray(new JsonObject { ["type"] = "InternalIP", ["address"] = $"192.0.2.{n + 10}" }),
                ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True", ["reason"] = "KubeletReady", ["lastHeartbeatTime"] = Now() }),
            },
        }, "application/merge-patch+json");
        await Server.SendAsync(http, HttpMethod.Post, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "kube-node-lease" },
            ["spec"] = new JsonObject { ["holderIdentity"] = name, ["leaseDurationSeconds"] = 40, ["renewTime"] = Now() },
        });
    }

    static async Task RenewLeasesAsync(HttpClient http, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(10), ct);
                for (int n = 0; n < Nodes; n++)
                    await Server.SendAsync(http, HttpMethod.Patch, $"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-{n}",
                        new JsonObject { ["spec"] = new JsonObject { ["renewTime"] = Now() } }, "application/merge-patch+json");
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>Watches the namespace's pods until <paramref name="count"/> distinct pods have a node.</summary>
    static async Task WaitBoundAsync(Server server, string ns, int count)
    {
        using var http = server.Client(1);
        http.Timeout = TimeSpan.FromMinutes(10);
        var bound = new HashSet<string>();
        using var stream = await http.GetStreamAsync($"/api/v1/namespaces/{ns}/pods?watch=1");
        using var reader = new StreamReader(stream);
        while (bound.Count < count && await reader.ReadLineAsync() is { } line)
        {
            var ev = JsonNode.Parse(line)!;
            var pod = ev["object"]!;
            if (ev["type"]!.GetValue<string>() != "DELETED" && pod["spec"]?["nodeName"] is not null) bound.Add(pod["metadata"]!["name"]!.GetValue<string>());
        }
        if (bound.Count < count) throw new InvalidOperationException($"the watch ended with {bound.Count} of {count} pods bound");
    }

    static async Task MarkRunningAsync(HttpClient http, string ns)
    {
        var list = JsonNode.Parse(await http.GetStringAsync($"/api/v1/namespaces/{ns}/pods"))!["items"]!.AsArray();
        int next = -1;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < list.Count)
            {
                var name = list[i]!["metadata"]!["name"]!.GetValue<string>();
                var now = Now();
                await Server.SendAsync(http, HttpMethod.Patch, $"/api/v1/namespaces/{ns}/pods/{name}/status", new JsonObject
                {
                    ["status"] = new JsonObject
                    {
                        ["phase"] = "Running",
                        ["podIP"] = $"10.42.{i / 250}.{i % 250 + 2}",
                        ["startTime"] = now,
                        ["conditions"] = new JsonArray(
                            new JsonObject { ["type"] = "Ready", ["status"] = "True", ["lastTransitionTime"] = now },
                            new JsonObject { ["type"] = "ContainersReady", ["status"] = "True", ["lastTransitionTime"] = now }),
                        ["containerStatuses"] = new JsonArray(new JsonObject
                        {
                            ["name"] = "web", ["image"] = "registry.local/web:1.0", ["ready"] = true, ["restartCount"] = 0,
                            ["state"] = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = now } },
                        }),
                    },
                }, "application/merge-patch+json");
            }
        })));
    }

    static async Task RunKubectlAsync(Server server, params string[] args)
    {
        var psi = new ProcessStartInfo(Kubectl) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("--kubeconfig");
        psi.ArgumentList.Add(Path.Combine(server.DataDir, "kubeconfig.yaml"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"kubectl {string.Join(' ', args)} failed: {await err}");
    }

    static string Now() => DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'");
}
