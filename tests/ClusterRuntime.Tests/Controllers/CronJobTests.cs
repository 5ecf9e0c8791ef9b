// The CronJob controller against a real server whose controllers' clock runs 60x fast (a minute a second).
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;
using static Appliance.ClusterRuntime.Tests.Controllers.BatchTestSupport;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "External")]
public sealed class CronJobTests(CronJobServer fx) : IClassFixture<CronJobServer>
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    async Task<string> NamespaceAsync(string ns)
    {
        Support.Kubectl.RequireInstalled();
        (await fx.Kubectl.RunAsync("create", "namespace", ns)).Ok();
        return ns;
    }

    static string CronJobYaml(string ns, string name, string outcome, string spec, string jobSpec = "") => $$"""
        apiVersion: batch/v1
        kind: CronJob
        metadata: {name: {{name}}, namespace: {{ns}}}
        spec:
          schedule: "*/1 * * * *"
        {{spec}}
          jobTemplate:
            spec:
        {{jobSpec}}
              template:
                metadata:
                  labels: {{(outcome.Length == 0 ? "{}" : $"{{outcome: \"{outcome}\"}}")}}
                spec:
                  nodeName: {{BatchServer.NodeName}}
                  restartPolicy: Never
                  containers: [{name: work, image: busybox}]
        """;

    Task<JsonObject?> CronJobAsync(string ns, string name) => GetAsync(fx.Server, $"/apis/batch/v1/namespaces/{ns}/cronjobs/{name}");

    async Task<List<JsonObject>> JobsOfAsync(string ns, string cronJob) =>
        Items(await GetAsync(fx.Server, $"/apis/batch/v1/namespaces/{ns}/jobs"))
            .Where(j => j["metadata"]!["ownerReferences"]?.AsArray().Any(r => r!["name"]!.GetValue<string>() == cronJob) == true).ToList();

    static string Type(JsonObject job) =>
        (job["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => c["type"]!.GetValue<string>() is "Complete" or "Failed" && c["status"]!.GetValue<string>() == "True")?["type"]!.GetValue<string>() ?? "Running";

    [Fact]
    public async Task EveryMinute_Fires_NamesJobsByScheduledMinute_AndKeepsHistoryLimits()
    {
        var ns = await NamespaceAsync("cron-history");
        (await ApplyAsync(fx.Kubectl, CronJobYaml(ns, "ok", "0", "  successfulJobsHistoryLimit: 2"))).Ok();
        (await ApplyAsync(fx.Kubectl, CronJobYaml(ns, "bad", "1", "  failedJobsHistoryLimit: 1", "      backoffLimit: 0"))).Ok();

        var scheduled = new HashSet<string>();
        await WaitAsync(async () =>
        {
            var cj = await CronJobAsync(ns, "ok");
            if (cj?["status"]?["lastScheduleTime"]?.GetValue<string>() is { } t) scheduled.Add(t);
            return scheduled.Count;
        }, n => n >= 4, Timeout, "the every-minute CronJob to fire 4 times");
        var ok = await WaitAsync(() => JobsOfAsync(ns, "ok"), jobs => jobs.Count == 2 && jobs.All(j => Type(j) == "Complete"), Timeout,
            "2 completed Jobs of 'ok' (successfulJobsHistoryLimit 2)");
        var bad = await WaitAsync(() => JobsOfAsync(ns, "bad"), jobs => jobs.Count(j => Type(j) == "Failed") == 1 && jobs.Count(j => Type(j) == "Failed") == jobs.Count(j => Type(j) != "Running"), Timeout,
            "exactly 1 failed Job of 'bad' (failedJobsHistoryLimit 1)");

        foreach (var job in ok)
        {
            var at = DateTimeOffset.Parse(job["metadata"]!["annotations"]!["batch.kubernetes.io/cronjob-scheduled-timestamp"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal($"ok-{at.ToUnixTimeSeconds() / 60}", job["metadata"]!["name"]!.GetValue<string>());
            Assert.Equal(0, at.Second);
        }
        var status = (await CronJobAsync(ns, "ok"))!["status"]!;
        Assert.NotNull(status["lastSuccessfulTime"]);
        var badEvents = (await fx.Kubectl.RunAsync("-n", ns, "get", "events", "--field-selector", "involvedObject.name=bad", "-o", "json")).Ok().Out;
        Assert.Contains("SawCompletedJob", badEvents);
        Assert.Contains("SuccessfulDelete", badEvents);
        Assert.True(bad.Count >= 1);

        var table = (await fx.Kubectl.RunAsync("-n", ns, "get", "cronjob", "ok")).Ok().Out;
        Assert.Matches(@"^NAME\s+SCHEDULE\s+TIMEZONE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE", table);
        Assert.Matches(@"(?m)^ok\s+\*/1 \* \* \* \*\s+<none>\s+False\s+\d+\s+\S+\s+\d+s", table);
    }

    [Fact]
    public async Task Forbid_DoesNotStartASecondJobWhileOneRuns()
    {
        var ns = await NamespaceAsync("cron-forbid");
        (await ApplyAsync(fx.Kubectl, CronJobYaml(ns, "lock", "", "  concurrencyPolicy: Forbid"))).Ok();
        await WaitAsync(async () => (await fx.Kubectl.RunAsync("-n", ns, "get", "events", "--field-selector", "involvedObject.name=lock,reason=JobAlreadyActive", "-o", "name")).Ok().Out,
            o => o.Trim().Length > 0, Timeout, "a JobAlreadyActive event (a schedule passed while the first Job runs)");
        var jobs = await JobsOfAsync(ns, "lock");
        Assert.True(jobs.Count == 1, $"Forbid allows one running Job; found {string.Join(", ", jobs.Select(j => j["metadata"]!["name"]))}");
        var active = (await CronJobAsync(ns, "lock"))!["status"]!["active"]!.AsArray();
        Assert.Equal(jobs[0]["metadata"]!["name"]!.GetValue<string>(), Assert.Single(active)!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Replace_DeletesTheRunningJobForTheNextOne()
    {
        var ns = await NamespaceAsync("cron-replace");
        (await ApplyAsync(fx.Kubectl, CronJobYaml(ns, "swap", "", "  concurrencyPolicy: Replace"))).Ok();
        var names = new HashSet<string>();
        await WaitAsync(async () =>
        {
            foreach (var job in await JobsOfAsync(ns, "swap")) names.Add(job["metadata"]!["name"]!.GetValue<string>());
            return names.Count;
        }, n => n >= 3, Timeout, "3 Jobs of the Replace CronJob over time");
        var now = await JobsOfAsync(ns, "swap");
        Assert.True(now.Count <= 2, $"Replace keeps one Job (two while a deletion is seen late); found {now.Count}");
        var events = (await fx.Kubectl.RunAsync("-n", ns, "get", "events", "--field-selector", "involvedObject.name=swap,reason=SuccessfulDelete", "-o", "name")).Ok().Out;
        Assert.NotEmpty(events.Trim());
    }

    [Fact]
    public async Task KubectlCreateJobFromCronJob_RunsTheTemplate()
    {
        var ns = await NamespaceAsync("cron-manual");
        (await ApplyAsync(fx.Kubectl, CronJobYaml(ns, "nightly", "0", "  suspend: true"))).Ok();
        (await fx.Kubectl.RunAsync("-n", ns, "create", "job", "by-hand", "--from=cronjob/nightly")).Ok();
        (await fx.Kubectl.RunAsync("-n", ns, "wait", "--for=condition=complete", "job/by-hand", "--timeout=60s")).Ok();
        var jobs = await JobsOfAsync(ns, "nightly");
        Assert.Equal(["by-hand"], jobs.Select(j => j["metadata"]!["name"]!.GetValue<string>()));
        Assert.Equal("manual", jobs[0]["metadata"]!["annotations"]!["cronjob.kubernetes.io/instantiate"]!.GetValue<string>());
        Assert.Null((await CronJobAsync(ns, "nightly"))!["status"]?["lastScheduleTime"]);
    }

    [Fact]
    public async Task InvalidSchedule_And_TimeZone_AreRefusedWithUpstreamMessages()
    {
        var ns = await NamespaceAsync("cron-invalid");
        var bad = await ApplyAsync(fx.Kubectl, CronJobYaml(ns, "wrong", "", "").Replace("\"*/1 * * * *\"", "\"not a schedule\""));
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("spec.schedule: Invalid value: \"not a schedule\": expected exactly 5 fields, found 3: [not a schedule]", bad.Error);
        var zone = await ApplyAsync(fx.Kubectl, CronJobYaml(ns, "zoned", "", "  timeZone: Mars/Olympus"));
        Assert.NotEqual(0, zone.ExitCode);
        Assert.Contains("spec.timeZone: Invalid value: \"Mars/Olympus\": unknown time zone Mars/Olympus", zone.Error);
        (await ApplyAsync(fx.Kubectl, CronJobYaml(ns, "berlin", "", "  timeZone: Europe/Berlin\n  suspend: true").Replace("\"*/1 * * * *\"", "\"@hourly\""))).Ok();
        var cj = (await CronJobAsync(ns, "berlin"))!;
        Assert.Equal("Allow", cj["spec"]!["concurrencyPolicy"]!.GetValue<string>());
        Assert.Equal(3, cj["spec"]!["successfulJobsHistoryLimit"]!.GetValue<int>());
        Assert.Equal(1, cj["spec"]!["failedJobsHistoryLimit"]!.GetValue<int>());
    }
}
