// tests/manifests/: every real-world-style manifest applies with kubectl's default validation, and re-applies unchanged.
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Kubectl;

[Trait("Category", "External")]
public sealed class ManifestApplyTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    // serviceaccount-rbac.yaml waits for rbac.authorization.k8s.io and crd-printer-columns.yaml for CustomResourceDefinitions
    // (both from other helpers of issue 16): the lead adds them to this list when those groups are merged.
    public static TheoryData<string> Manifests =>
    [
        "guestbook.yaml", "daemonset-tolerations.yaml", "cronjob.yaml", "ingress.yaml", "statefulset.yaml", "hpa.yaml",
        "pdb.yaml", "networkpolicy.yaml", "priorityclass.yaml", "job.yaml", "multi-container-pod.yaml", "services.yaml",
    ];

    static string PathOf(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "tests", "manifests", name))) return Path.Combine(dir.FullName, "tests", "manifests", name);
        throw new FileNotFoundException($"tests/manifests/{name} not found above {AppContext.BaseDirectory}");
    }

    [Theory]
    [MemberData(nameof(Manifests))]
    public async Task Manifest_Applies_WithDefaultValidation_AndReappliesUnchanged(string manifest)
    {
        Support.Kubectl.RequireInstalled();
        var path = PathOf(manifest);
        var ns = "m-" + Path.GetFileNameWithoutExtension(manifest).Replace('.', '-');
        (await fx.Kubectl.RunAsync("create", "namespace", ns)).Ok();
        var objects = Regex.Matches(File.ReadAllText(path), @"(?m)^kind: ").Count;

        var first = (await fx.Kubectl.RunAsync("apply", "-n", ns, "-f", path)).Ok();
        var created = first.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(objects, created.Length);
        Assert.All(created, line => Assert.EndsWith(" created", line));
        // A patch kubectl cannot compute from the published schema shows up as a warning here.
        Assert.DoesNotContain("warning", first.Error, StringComparison.OrdinalIgnoreCase);

        var again = (await fx.Kubectl.RunAsync("apply", "-n", ns, "-f", path)).Ok();
        var lines = again.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(objects, lines.Length);
        Assert.All(lines, line => Assert.EndsWith(" unchanged", line));
        Assert.DoesNotContain("warning", again.Error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task EditedManifest_Reapplied_ChangesExactlyTheEditedFields()
    {
        Support.Kubectl.RequireInstalled();
        const string ns = "m-edit";
        (await fx.Kubectl.RunAsync("create", "namespace", ns)).Ok();
        var original = File.ReadAllText(PathOf("guestbook.yaml"));
        (await fx.Kubectl.RunAsync(System.Text.Encoding.UTF8.GetBytes(original), "apply", "-n", ns, "-f", "-")).Ok();

        // Change one image and remove one env var (of a list merged by name, whose key kubectl reads from /openapi/v3).
        var edited = original
            .Replace("gke/gb-frontend:v5", "gke/gb-frontend:v6")
            .Replace("""
                        env:
                        - name: REDIS_PASSWORD
                          valueFrom:
                            secretKeyRef: {name: guestbook-redis, key: password}

                """, "");
        Assert.NotEqual(original.Length, edited.Length);
        var r = (await fx.Kubectl.RunAsync(System.Text.Encoding.UTF8.GetBytes(edited), "apply", "-n", ns, "-f", "-")).Ok();
        var changed = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.EndsWith(" unchanged", StringComparison.Ordinal)).ToList();
        Assert.Equal(["deployment.apps/redis-leader configured", "deployment.apps/frontend configured"], changed);
        Assert.DoesNotContain("warning", r.Error, StringComparison.OrdinalIgnoreCase);

        var leader = JsonNode.Parse((await fx.Kubectl.RunAsync("get", "-n", ns, "deployment", "redis-leader", "-o", "json")).Ok().Out)!;
        var container = leader["spec"]!["template"]!["spec"]!["containers"]![0]!;
        Assert.Null(container["env"]);
        Assert.Equal("/etc/redis", container["volumeMounts"]![0]!["mountPath"]!.GetValue<string>());
        Assert.Equal("redis", container["ports"]![0]!["name"]!.GetValue<string>());
        var frontend = JsonNode.Parse((await fx.Kubectl.RunAsync("get", "-n", ns, "deployment", "frontend", "-o", "json")).Ok().Out)!;
        var web = frontend["spec"]!["template"]!["spec"]!["containers"]![0]!;
        Assert.EndsWith("gb-frontend:v6", web["image"]!.GetValue<string>());
        Assert.Equal("guestbook-config", web["envFrom"]![0]!["configMapRef"]!["name"]!.GetValue<string>());
    }
}
