// The Job controller against a real server process, driven with the real kubectl and a simulated node.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;
using k8s;
using k8s.Models;
using static Appliance.ClusterRuntime.Tests.Controllers.BatchTestSupport;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "External")]
public sealed class JobTests(JobServer fx) : IClassFixture<JobServer>
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    async Task<string> NamespaceAsync(string ns)
    {
        Support.Kubectl.RequireInstalled();
        (await fx.Kubectl.RunAsync("create", "namespace", ns)).Ok();
        return ns;
    }

    static string JobYaml(string ns, string name, string outcome, string spec) => $$"""
        apiVersion: batch/v1
        kind: Job
        metadata: {name: {{name}}, namespace: {{ns}}}
        spec:
        {{spec}}
          template:
            metadata:
              labels: {{(outcome.Length == 0 ? "{}" : $"{{outcome: \"{outcome}\"}}")}}
            spec:
              nodeName: {{BatchServer.NodeName}}
              restartPolicy: Never
              containers: [{name: work, image: busybox}]
        """;

    Task<JsonObject?> JobAsync(string ns, string name) => GetAsync(fx.Server, $"/apis/batch/v1/namespaces/{ns}/jobs/{name}");

    async Task<List<JsonObject>> PodsAsync(string ns) => Items(await GetAsync(fx.Server, $"/api/v1/namespaces/{ns}/pods"));

    [Fact]
    public async Task Completions3Parallelism2_Completes_NeverMoreThan2Active_KubectlWaitWorks()
    {
        var ns = await NamespaceAsync("job-complete");
        var maxActive = 0;
        var active = new HashSet<string>();
        using var watchStop = new CancellationTokenSource();
        var list = await fx.Client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: TestContext.Current.CancellationToken);
        var watching = Task.Run(async () =>
        {
            try
            {
                await foreach (var (type, pod) in fx.Client.CoreV1.WatchListNamespacedPodAsync(ns, resourceVersion: list.Metadata.ResourceVersion, cancellationToken: watchStop.Token))
                {
                    var running = type != WatchEventType.Deleted && pod.Status?.Phase is not ("Succeeded" or "Failed") && pod.Metadata.DeletionTimestamp is null;
                    lock (active)
                    {
                        if (running) active.Add(pod.Metadata.Name); else active.Remove(pod.Metadata.Name);
                        maxActive = Math.Max(maxActive, active.Count);
                    }
                }
            }
            catch (OperationCanceledException) { }
        }, TestContext.Current.CancellationToken);
        (await ApplyAsync(fx.Kubectl, JobYaml(ns, "three", "0", "  completions: 3\n  parallelism: 2"))).Ok();
        (await fx.Kubectl.RunAsync("-n", ns, "wait", "--for=condition=complete", "job/three", "--timeout=60s")).Ok();
        await watchStop.CancelAsync();
        await watching;

        var job = (await JobAsync(ns, "three"))!;
        Assert.True(maxActive is >= 1 and <= 2, $"at most 2 pods may run at once; saw {maxActive}");
        Assert.Equal(3, job["status"]!["succeeded"]!.GetValue<int>());
        Assert.Null(job["status"]!["failed"]);
        Assert.NotNull(job["status"]!["completionTime"]);
        Assert.Equal("CompletionsReached", Condition(job, "Complete")!["reason"]!.GetValue<string>());
        Assert.Equal("Reached expected number of succeeded pods", Condition(job, "Complete")!["message"]!.GetValue<string>());
        Assert.Equal("True", Condition(job, "SuccessCriteriaMet")!["status"]!.GetValue<string>());
        var pods = await PodsAsync(ns);
        Assert.Equal(3, pods.Count);
        Assert.All(pods, p =>
        {
            Assert.Equal("Succeeded", p["status"]!["phase"]!.GetValue<string>());
            Assert.DoesNotContain("batch.kubernetes.io/job-tracking", p["metadata"]!["finalizers"]?.AsArray().Select(f => f!.GetValue<string>()) ?? []);
            Assert.Equal("three", p["metadata"]!["labels"]!["batch.kubernetes.io/job-name"]!.GetValue<string>());
        });
        var table = (await fx.Kubectl.RunAsync("-n", ns, "get", "job", "three")).Ok().Out;
        Assert.Matches(@"^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE", table);
        Assert.Matches(@"(?m)^three\s+Complete\s+3/3\s+\d+s\s+\d+s", table);
    }

    [Fact]
    public async Task FailingJob_StopsAtBackoffLimit_WithFailedBackoffLimitExceeded()
    {
        var ns = await NamespaceAsync("job-backoff");
        (await ApplyAsync(fx.Kubectl, JobYaml(ns, "fails", "1", "  backoffLimit: 1"))).Ok();
        (await fx.Kubectl.RunAsync("-n", ns, "wait", "--for=condition=failed", "job/fails", "--timeout=60s")).Ok();

        var job = (await JobAsync(ns, "fails"))!;
        var failed = Condition(job, "Failed")!;
        Assert.Equal("BackoffLimitExceeded", failed["reason"]!.GetValue<string>());
        Assert.Equal("Job has reached the specified backoff limit", failed["message"]!.GetValue<string>());
        Assert.Equal("BackoffLimitExceeded", Condition(job, "FailureTarget")!["reason"]!.GetValue<string>());
        Assert.Equal(2, job["status"]!["failed"]!.GetValue<int>());
        Assert.Null(job["status"]!["completionTime"]);
        Assert.Equal(2, (await PodsAsync(ns)).Count);
        // The second pod waited out the 10 s back-off after the first failure.
        var started = (await PodsAsync(ns)).Select(p => DateTimeOffset.Parse(p["metadata"]!["creationTimestamp"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture)).Order().ToList();
        Assert.True(started[1] - started[0] >= TimeSpan.FromSeconds(9), $"second pod created {(started[1] - started[0]).TotalSeconds} s after the first");
        var events = (await fx.Kubectl.RunAsync("-n", ns, "get", "events", "--field-selector", "involvedObject.name=fails")).Ok().Out;
        Assert.Contains("BackoffLimitExceeded", events);
    }

    [Fact]
    public async Task ActiveDeadlineSeconds_FailsWithDeadlineExceeded_AndRemovesItsPods()
    {
        var ns = await NamespaceAsync("job-deadline");
        (await ApplyAsync(fx.Kubectl, JobYaml(ns, "slow", "", "  parallelism: 2\n  completions: 4\n  activeDeadlineSeconds: 2"))).Ok();
        (await fx.Kubectl.RunAsync("-n", ns, "wait", "--for=condition=failed", "job/slow", "--timeout=60s")).Ok();

        var job = (await JobAsync(ns, "slow"))!;
        Assert.Equal("DeadlineExceeded", Condition(job, "Failed")!["reason"]!.GetValue<string>());
        Assert.Equal("Job was active longer than specified deadline", Condition(job, "Failed")!["message"]!.GetValue<string>());
        Assert.Equal(2, job["status"]!["failed"]?.GetValue<int>());
        Assert.Null(job["status"]!["active"]);
        await WaitAsync(() => PodsAsync(ns), pods => pods.Count == 0, Timeout, "the deadline-exceeded Job's running pods to be deleted");
    }

    [Fact]
    public async Task TtlSecondsAfterFinished_DeletesTheJob()
    {
        var ns = await NamespaceAsync("job-ttl");
        (await ApplyAsync(fx.Kubectl, JobYaml(ns, "brief", "0", "  ttlSecondsAfterFinished: 1"))).Ok();
        await WaitAsync(() => JobAsync(ns, "brief"), j => Condition(j, "Complete") is not null || j is null, Timeout, "the Job to complete");
        await WaitAsync(() => JobAsync(ns, "brief"), j => j is null, Timeout, "the finished Job to be deleted after its TTL");
    }

    [Fact]
    public async Task IndexedJob_RunsEachIndexOnce_WithIndexAnnotationAndHostname()
    {
        var ns = await NamespaceAsync("job-indexed");
        (await ApplyAsync(fx.Kubectl, JobYaml(ns, "idx", "0", "  completions: 3\n  parallelism: 3\n  completionMode: Indexed"))).Ok();
        (await fx.Kubectl.RunAsync("-n", ns, "wait", "--for=condition=complete", "job/idx", "--timeout=60s")).Ok();
        var job = (await JobAsync(ns, "idx"))!;
        Assert.Equal("0-2", job["status"]!["completedIndexes"]!.GetValue<string>());
        var pods = await PodsAsync(ns);
        var indexes = pods.Select(p => p["metadata"]!["annotations"]!["batch.kubernetes.io/job-completion-index"]!.GetValue<string>()).Order().ToList();
        Assert.Equal(["0", "1", "2"], indexes);
        Assert.All(pods, p => Assert.Equal("idx-" + p["metadata"]!["labels"]!["batch.kubernetes.io/job-completion-index"]!.GetValue<string>(), p["spec"]!["hostname"]!.GetValue<string>()));
    }

    [Fact]
    public async Task CreateJob_GetsUpstreamDefaults_AndRestartPolicyAlwaysIsRefused()
    {
        var ns = await NamespaceAsync("job-defaults");
        (await fx.Kubectl.RunAsync("-n", ns, "create", "job", "plain", "--image=busybox")).Ok();
        var job = (await JobAsync(ns, "plain"))!;
        var spec = job["spec"]!;
        var uid = job["metadata"]!["uid"]!.GetValue<string>();
        Assert.Equal(6, spec["backoffLimit"]!.GetValue<int>());
        Assert.Equal(1, spec["completions"]!.GetValue<int>());
        Assert.Equal(1, spec["parallelism"]!.GetValue<int>());
        Assert.Equal("NonIndexed", spec["completionMode"]!.GetValue<string>());
        Assert.Equal("TerminatingOrFailed", spec["podReplacementPolicy"]!.GetValue<string>());
        Assert.False(spec["suspend"]!.GetValue<bool>());
        Assert.False(spec["manualSelector"]!.GetValue<bool>());
        Assert.Equal(uid, spec["selector"]!["matchLabels"]!["batch.kubernetes.io/controller-uid"]!.GetValue<string>());
        var labels = spec["template"]!["metadata"]!["labels"]!;
        Assert.Equal(uid, labels["controller-uid"]!.GetValue<string>());
        Assert.Equal("plain", labels["job-name"]!.GetValue<string>());

        var refused = await ApplyAsync(fx.Kubectl, JobYaml(ns, "always", "", "  completions: 1").Replace("restartPolicy: Never", "restartPolicy: Always"));
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"", refused.Error);
    }

    [Fact]
    public async Task SuspendedJob_RunsNoPods_UntilResumed()
    {
        var ns = await NamespaceAsync("job-suspend");
        (await ApplyAsync(fx.Kubectl, JobYaml(ns, "later", "0", "  suspend: true"))).Ok();
        var suspended = await WaitAsync(() => JobAsync(ns, "later"), j => Condition(j, "Suspended") is not null, Timeout, "the Suspended condition");
        Assert.Equal("JobSuspended", Condition(suspended, "Suspended")!["reason"]!.GetValue<string>());
        Assert.Null(suspended!["status"]!["startTime"]);
        Assert.Empty(await PodsAsync(ns));
        (await fx.Kubectl.RunAsync("-n", ns, "patch", "job", "later", "--type=merge", "-p", "{\"spec\":{\"suspend\":false}}")).Ok();
        (await fx.Kubectl.RunAsync("-n", ns, "wait", "--for=condition=complete", "job/later", "--timeout=60s")).Ok();
        var job = (await JobAsync(ns, "later"))!;
        Assert.Equal("False", Condition(job, "Suspended")!["status"]!.GetValue<string>());
        Assert.Equal("JobResumed", Condition(job, "Suspended")!["reason"]!.GetValue<string>());
        Assert.NotNull(job["status"]!["startTime"]);
        Assert.Single(await PodsAsync(ns));
    }

    [Fact]
    public async Task ServerSigkillMidJob_CountsEveryPodOnce_AndCreatesNoExtraPods()
    {
        Support.Kubectl.RequireInstalled();
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        var port = RuntimeProcess.FreePort();
        var server = await RuntimeProcess.StartAsync(data, port);
        SimulatedNode? node = null;
        try
        {
            node = await SimulatedNode.StartAsync(BatchTestSupport.Client(server), "restart-node", 8, ct: TestContext.Current.CancellationToken);
            node.Outcome = OutcomeByLabel;
            using (var http = server.CreateClient())
            {
                (await http.PostAsync("/api/v1/namespaces", Json.Body(new JsonObject { ["metadata"] = new JsonObject { ["name"] = "job-restart" } }), TestContext.Current.CancellationToken)).EnsureSuccessStatusCode();
                var job = JsonNode.Parse("""
                    {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "many"},
                     "spec": {"completions": 12, "parallelism": 2, "template": {"metadata": {"labels": {"outcome": "0"}},
                       "spec": {"nodeName": "restart-node", "restartPolicy": "Never", "containers": [{"name": "work", "image": "busybox"}]}}}}
                    """)!;
                (await http.PostAsync("/apis/batch/v1/namespaces/job-restart/jobs", Json.Body(job), TestContext.Current.CancellationToken)).EnsureSuccessStatusCode();
            }
            var path = "/apis/batch/v1/namespaces/job-restart/jobs/many";
            var before = await WaitAsync(() => GetAsync(server, path), j => j?["status"]?["succeeded"]?.GetValue<int>() >= 2, Timeout, "2 counted successes before the kill");
            server.Kill();
            await server.DisposeAsync();
            server = await RuntimeProcess.StartAsync(data, port);

            var done = await WaitAsync(() => GetAsync(server, path), j => Condition(j, "Complete") is not null, Timeout, "the Job to complete after the restart");
            Assert.Equal(12, done!["status"]!["succeeded"]!.GetValue<int>());
            Assert.Null(done["status"]!["failed"]);
            var pods = Items(await GetAsync(server, "/api/v1/namespaces/job-restart/pods"));
            Assert.True(pods.Count == 12, $"12 completions need 12 pods; {pods.Count} were created (killed at succeeded={before!["status"]!["succeeded"]})");
            Assert.All(pods, p => Assert.Equal("Succeeded", p["status"]!["phase"]!.GetValue<string>()));
        }
        finally
        {
            if (node is not null) await node.DisposeAsync();
            await server.DisposeAsync();
        }
    }
}
