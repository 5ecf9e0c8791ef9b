// tests/manifests/: every real-world-style manifest applies with kubectl's default validation, and re-applies unchanged.
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Kubectl;

[Trait("Category", "External")]
public sealed class ManifestApplyTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    public static TheoryData<string> Manifests =>
    [
        "guestbook.yaml", "daemonset-tolerations.yaml", "cronjob.yaml", "ingress.yaml", "statefulset.yaml", "hpa.yaml",
        "pdb.yaml", "networkpolicy.yaml", "priorityclass.yaml", "job.yaml", "multi-container-pod.yaml", "services.yaml",
        "serviceaccount-rbac.yaml",
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

        var before = await VersionsAsync(ns, path);
        var again = (await fx.Kubectl.RunAsync("apply", "-n", ns, "-f", path)).Ok();
        var lines = again.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(objects, lines.Length);
        // A bare Pod is the one exception, as against kube-apiserver: the server added the service-account volume and
        // mounts to its lists, so kubectl's three-way diff sends a patch of $setElementOrder directives only and prints
        // "configured"; the patch changes nothing (the resourceVersions below stay).
        Assert.All(lines, line => Assert.True(line.EndsWith(" unchanged", StringComparison.Ordinal)
            || line.StartsWith("pod/", StringComparison.Ordinal) && line.EndsWith(" configured", StringComparison.Ordinal), line));
        Assert.DoesNotContain("warning", again.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(before, await VersionsAsync(ns, path));
    }

    /// <summary>The resourceVersion of every object of a manifest, in its order.</summary>
    async Task<string> VersionsAsync(string ns, string path)
    {
        var got = JsonNode.Parse((await fx.Kubectl.RunAsync("get", "-n", ns, "-f", path, "-o", "json")).Ok().Out)!;
        var items = got["kind"]!.GetValue<string>() == "List" ? got["items"]!.AsArray().ToList() : [got];
        return string.Join(",", items.Select(i => i!["metadata"]!["resourceVersion"]!.GetValue<string>()));
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

    /// <summary>
    /// A CRD and an object of it in one file. kubectl maps every object of a file to its resource before it applies
    /// the first one, so on a cluster that does not serve the kind yet the object is refused with "ensure CRDs are
    /// installed first" while the CRD is created (kubectl's behaviour with any API server). Run again, the same file
    /// creates the object, with default validation (the CRD's schema is in /openapi/v3 by then), and a third run
    /// finds everything unchanged; the printer columns show in kubectl get.
    /// </summary>
    [Fact]
    public async Task CrdAndItsObject_InOneFile_ApplyOnTheSecondRun_WithDefaultValidation_ThenUnchanged()
    {
        Support.Kubectl.RequireInstalled();
        var path = PathOf("crd-printer-columns.yaml");
        const string ns = "m-crd";
        (await fx.Kubectl.RunAsync("create", "namespace", ns)).Ok();

        var first = await fx.Kubectl.RunAsync("apply", "-n", ns, "-f", path);
        Assert.Contains("customresourcedefinition.apiextensions.k8s.io/backups.example.com created", first.Out);
        if (first.ExitCode != 0) Assert.Contains("ensure CRDs are installed first", first.Error);
        (await fx.Kubectl.RunAsync("wait", "--for", "condition=Established", "--timeout", "20s", "crd/backups.example.com")).Ok();

        var second = await Poll.UntilAsync(() => fx.Kubectl.RunAsync("apply", "-n", ns, "-f", path), r => r.ExitCode == 0,
            TimeSpan.FromSeconds(20), "the Backup applied", r => r.Out + r.Error);
        Assert.Contains("customresourcedefinition.apiextensions.k8s.io/backups.example.com unchanged", second.Out);
        Assert.Contains("backup.example.com/nightly " + (first.ExitCode == 0 ? "unchanged" : "created"), second.Out);
        Assert.DoesNotContain("warning", second.Error, StringComparison.OrdinalIgnoreCase);

        var third = (await fx.Kubectl.RunAsync("apply", "-n", ns, "-f", path)).Ok();
        Assert.All(third.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.EndsWith(" unchanged", line));

        var table = (await fx.Kubectl.RunAsync("get", "-n", ns, "backups")).Ok().Out;
        Assert.Matches(@"(?m)^NAME\s+SCHEDULE\s+RETAIN\s+PHASE\s+AGE$", table);
        Assert.Matches(@"(?m)^nightly\s+0 3 \* \* \*\s+7\s+", table);
    }

    /// <summary>
    /// The whole workflow on one multi-document file (a CRD and one object of it, a ServiceAccount, Role, RoleBinding,
    /// ConfigMap, Secret, Deployment and Service), with default flags: the first run creates everything but the custom
    /// object (kubectl maps all objects before applying any), the second creates it and finds the rest unchanged, the
    /// third finds everything unchanged. Then an edit of the file (an image changed, an env var removed) re-applied
    /// changes exactly those two fields of the Deployment and nothing else anywhere.
    /// </summary>
    [Fact]
    public async Task SiteApp_MultiDocument_AppliesUnchanged_AndAnEditChangesExactlyTheEditedFields()
    {
        Support.Kubectl.RequireInstalled();
        const string ns = "m-site-app";
        (await fx.Kubectl.RunAsync("create", "namespace", ns)).Ok();
        var original = File.ReadAllText(PathOf("site-app.yaml"));
        Task<ProcessResult> Apply(string yaml) => fx.Kubectl.RunAsync(System.Text.Encoding.UTF8.GetBytes(yaml), "apply", "-n", ns, "-f", "-");

        var first = await Apply(original);
        string[] others =
        [
            "customresourcedefinition.apiextensions.k8s.io/tillprofiles.shop.example.com", "serviceaccount/till",
            "role.rbac.authorization.k8s.io/till", "rolebinding.rbac.authorization.k8s.io/till", "configmap/till-config",
            "secret/till-payment", "deployment.apps/till", "service/till",
        ];
        foreach (var o in others) Assert.Contains(o + " created", first.Out);
        if (first.ExitCode != 0) Assert.Contains("ensure CRDs are installed first", first.Error);
        (await fx.Kubectl.RunAsync("wait", "--for", "condition=Established", "--timeout", "20s", "crd/tillprofiles.shop.example.com")).Ok();

        var second = await Poll.UntilAsync(() => Apply(original), r => r.ExitCode == 0, TimeSpan.FromSeconds(20), "the TillProfile applied", r => r.Out + r.Error);
        foreach (var o in others) Assert.Contains(o + " unchanged", second.Out);
        Assert.Contains("tillprofile.shop.example.com/main-store " + (first.ExitCode == 0 ? "unchanged" : "created"), second.Out);
        Assert.DoesNotContain("warning", second.Error, StringComparison.OrdinalIgnoreCase);

        var third = (await Apply(original)).Ok();
        var lines = third.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(9, lines.Length);
        Assert.All(lines, line => Assert.EndsWith(" unchanged", line));

        var before = await ObjectsAsync(ns);
        var edited = original.Replace("shop/till:1.4.2", "shop/till:1.4.3").Replace("""
                    - name: LOG_LEVEL
                      value: debug

            """, "");
        Assert.NotEqual(original.Length, edited.Length);
        var changed = (await Apply(edited)).Ok().Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.EndsWith(" unchanged", StringComparison.Ordinal)).ToList();
        Assert.Equal(["deployment.apps/till configured"], changed);
        var after = await ObjectsAsync(ns);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        var differences = before.Keys.SelectMany(k => Differences(before[k], after[k], k)).ToList();
        Assert.Equal(["deployment.apps/till: .spec.template.spec.containers[0].env[2]", "deployment.apps/till: .spec.template.spec.containers[0].image"],
            differences.Order(StringComparer.Ordinal));
        Assert.Equal("registry.local:5000/shop/till:1.4.3", after["deployment.apps/till"]["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }

    /// <summary>
    /// The objects of the namespace's kinds (and the CRD) by kind/name, without what every write changes
    /// (resourceVersion, generation, managedFields, last-applied annotation), the Deployment's revision, and status.
    /// </summary>
    async Task<Dictionary<string, JsonNode>> ObjectsAsync(string ns)
    {
        var all = new Dictionary<string, JsonNode>();
        foreach (var kind in new[] { "serviceaccounts", "roles", "rolebindings", "configmaps", "secrets", "deployments", "services", "tillprofiles" })
        {
            var list = JsonNode.Parse((await fx.Kubectl.RunAsync("get", "-n", ns, kind, "-o", "json")).Ok().Out)!;
            foreach (var item in list["items"]!.AsArray()) all[$"{Name(item!)}"] = Stable(item!);
        }
        var crd = JsonNode.Parse((await fx.Kubectl.RunAsync("get", "crd", "tillprofiles.shop.example.com", "-o", "json")).Ok().Out)!;
        all["customresourcedefinition/tillprofiles"] = Stable(crd);
        return all;

        static string Name(JsonNode o) => o["kind"]!.GetValue<string>() switch
        {
            "Deployment" => "deployment.apps/",
            var k => k.ToLowerInvariant() + "/",
        } + o["metadata"]!["name"]!.GetValue<string>();

        static JsonNode Stable(JsonNode o)
        {
            var c = o.DeepClone();
            var meta = c["metadata"]!.AsObject();
            foreach (var f in new[] { "resourceVersion", "generation", "managedFields" }) meta.Remove(f);
            (meta["annotations"] as JsonObject)?.Remove("kubectl.kubernetes.io/last-applied-configuration");
            // The Deployment controller counts the template's revisions there; a new template is a new revision.
            (meta["annotations"] as JsonObject)?.Remove("deployment.kubernetes.io/revision");
            c.AsObject().Remove("status");
            return c;
        }
    }

    /// <summary>The paths at which two JSON values differ (a whole element or key when it exists on one side only).</summary>
    static IEnumerable<string> Differences(JsonNode? a, JsonNode? b, string path, string at = "")
    {
        if (a is JsonObject oa && b is JsonObject ob)
            return oa.Select(kv => kv.Key).Union(ob.Select(kv => kv.Key)).SelectMany(k =>
                oa.ContainsKey(k) && ob.ContainsKey(k) ? Differences(oa[k], ob[k], path, $"{at}.{k}") : [$"{path}: {at}.{k}"]);
        if (a is JsonArray aa && b is JsonArray ab)
            return Enumerable.Range(0, Math.Max(aa.Count, ab.Count)).SelectMany(i =>
                i < aa.Count && i < ab.Count ? Differences(aa[i], ab[i], path, $"{at}[{i}]") : [$"{path}: {at}[{i}]"]);
        return JsonNode.DeepEquals(a, b) ? [] : [$"{path}: {at}"];
    }
}
