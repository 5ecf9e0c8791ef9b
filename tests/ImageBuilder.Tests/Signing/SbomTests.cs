// The CycloneDX SBOM: dpkg status parsing, purls, determinism, the official 1.6 schema, and the real package list.
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ImageBuilder.Signing.Sbom;
using Appliance.ImageBuilder.Tests.Cli;

namespace Appliance.ImageBuilder.Tests.Signing;

[Collection("npm")]
public class SbomTests
{
    private const string Sample = """
        Package: libc6
        Status: install ok installed
        Priority: optional
        Architecture: amd64
        Multi-Arch: same
        Version: 2.36-9+deb12u4
        Description: GNU C Library: Shared libraries
         Contains the standard libraries that are used by nearly all programs on
         .
         the system.

        Package: libc6
        Status: install ok installed
        Architecture: i386
        Version: 2.36-9+deb12u4

        Package: util-linux
        Status: hold ok installed
        Architecture: amd64
        Version: 2.38.1-5+deb12u3

        Package: old-thing
        Status: deinstall ok config-files
        Architecture: amd64
        Version: 1.0

        Package: broken
        Status: install reinstreq half-installed
        Architecture: all
        Version: 3~rc1

        Package: mawk
        Status: install ok installed
        Architecture: amd64
        Version: 1:1.3.4.20200120-3.1
        """;

    private const string Image = "docker.io/library/nginx:1.25@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    private static IReadOnlyList<DebianPackage> SamplePackages() =>
        DpkgStatus.ParseInstalled(new StringReader(Sample), "status");

    private static SbomInput Input(long? epoch = 1700000000) => new()
    {
        Subject = "shop-17.img",
        Packages = SamplePackages(),
        Images = [ContainerImage.Parse(Image)],
        OwnComponents = SbomInput.StandardOwnComponents("0.1.0+abc"),
        ToolVersion = "0.1.0+abc",
        SourceDateEpoch = epoch,
    };

    [Fact]
    [Trait("Category", "Unit")]
    public void Dpkg_status_keeps_installed_packages_only()
    {
        var p = SamplePackages();
        Assert.Equal(
            ["libc6 2.36-9+deb12u4 amd64", "libc6 2.36-9+deb12u4 i386", "util-linux 2.38.1-5+deb12u3 amd64", "mawk 1:1.3.4.20200120-3.1 amd64"],
            p.Select(x => $"{x.Name} {x.Version} {x.Architecture}"));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Purls_follow_the_canonical_purl_form()
    {
        var p = SamplePackages();
        Assert.Equal("pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12", CycloneDxWriter.DebPurl(p[0], "debian-12"));
        Assert.Equal("pkg:deb/debian/mawk@1:1.3.4.20200120-3.1?arch=amd64&distro=debian-12", CycloneDxWriter.DebPurl(p[3], "debian-12"));
        Assert.Equal("pkg:oci/nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef?repository_url=docker.io%2Flibrary%2Fnginx&tag=1.25",
            ContainerImage.Parse(Image).ToPurl());
        Assert.Equal("pkg:oci/pause@sha256:" + new string('a', 64),
            ContainerImage.Parse("pause@sha256:" + new string('A', 64)).ToPurl());
        Assert.Equal("registry.local:5000/apps/web", ContainerImage.Parse("registry.local:5000/apps/web@sha256:" + new string('b', 64)).Repository);
    }

    [Fact]
    [Trait("Category", "RoundTrip")]
    public void Same_inputs_give_the_same_bytes_and_the_serial_follows_the_content()
    {
        var a = CycloneDxWriter.Write(Input());
        Assert.Equal(a, CycloneDxWriter.Write(Input()));
        var bom = JsonNode.Parse(a)!;
        Assert.Equal("2023-11-14T22:13:20Z", (string?)bom["metadata"]!["timestamp"]);
        Assert.Matches("^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", (string?)bom["serialNumber"]);
        var other = JsonNode.Parse(CycloneDxWriter.Write(Input() with { Images = [] }))!;
        Assert.NotEqual((string?)bom["serialNumber"], (string?)other["serialNumber"]);
        var noEpoch = JsonNode.Parse(CycloneDxWriter.Write(Input(epoch: null)))!;
        Assert.Null(noEpoch["metadata"]!["timestamp"]);
    }

    [Fact]
    [Trait("Category", "RoundTrip")]
    public void Lists_packages_images_and_our_components()
    {
        var bom = JsonNode.Parse(CycloneDxWriter.Write(Input()))!;
        var components = bom["components"]!.AsArray();
        var names = components.Select(c => $"{(string?)c!["type"]}:{(string?)c["name"]}@{(string?)c["version"]}").ToList();
        Assert.Equal([
            "application:appliance@0.1.0+abc", "application:appliance-runtime@0.1.0+abc", "application:appliance-firstboot@0.1.0+abc",
            "library:libc6@2.36-9+deb12u4", "library:libc6@2.36-9+deb12u4", "library:mawk@1:1.3.4.20200120-3.1",
            "library:util-linux@2.38.1-5+deb12u3",
            "container:docker.io/library/nginx:1.25@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ], names);
        var image = components[^1]!;
        Assert.Equal("SHA-256", (string?)image["hashes"]![0]!["alg"]);
        Assert.Equal("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", (string?)image["hashes"]![0]!["content"]);
        Assert.Equal(components.Count, components.Select(c => (string?)c!["bom-ref"]).Distinct().Count());
    }

    // Validates BOM files against the official CycloneDX 1.6 JSON schema (with its spdx and jsf schemas) using ajv.
    internal const string ValidateScript = """
        'use strict';
        const fs = require('fs');
        const path = require('path');
        const Ajv = require('ajv');
        const addFormats = require('ajv-formats');
        const dir = path.join(__dirname, 'node_modules', '@cyclonedx', 'cyclonedx-library', 'res', 'schema');
        const load = (f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
        const ajv = new Ajv({ strict: false, allErrors: true });
        addFormats(ajv);
        // Formats the 1.6 schema uses that ajv-formats lacks: checked loosely (no whitespace; one '@').
        ajv.addFormat('iri-reference', /^\S*$/u);
        ajv.addFormat('idn-email', /^[^\s@]+@[^\s@]+$/u);
        // bom-1.6 refers to its siblings by these file names.
        for (const [file, id] of [['spdx.SNAPSHOT.schema.json', 'spdx'], ['jsf-0.82.SNAPSHOT.schema.json', 'jsf-0.82']]) {
          const s = load(file);
          delete s.$id;
          ajv.addSchema(s, `http://cyclonedx.org/schema/${file}`);
        }
        const validate = ajv.compile(load('bom-1.6.SNAPSHOT.schema.json'));
        let failed = 0;
        for (const f of process.argv.slice(2)) {
          const ok = validate(JSON.parse(fs.readFileSync(f, 'utf8')));
          if (ok) console.log(`valid ${f}`);
          else { failed++; console.log(`invalid ${f}: ${ajv.errorsText(validate.errors)}`); }
        }
        process.exit(failed ? 1 : 0);
        """;

    internal static string Schemas() => NpmCache.Ensure("npm-cyclonedx", "@cyclonedx/cyclonedx-library/res/schema/bom-1.6.SNAPSHOT.schema.json",
        "@cyclonedx/cyclonedx-library@10.3.0", "ajv@8.17.1", "ajv-formats@3.0.1");

    private static string RealDpkgStatus()
    {
        const string path = "/var/lib/dpkg/status";
        if (!File.Exists(path))
            Assert.Skip($"{path} does not exist: this check needs a Debian system's package database");
        return path;
    }

    [Fact]
    [Trait("Category", "External")]
    public void Sbom_of_the_real_package_database_validates_against_the_cyclonedx_1_6_schema()
    {
        var status = RealDpkgStatus();
        var npm = Schemas();
        using var dir = new TempDir();
        var r = CliRunner.Run(new Dictionary<string, string?> { ["SOURCE_DATE_EPOCH"] = "1700000000" },
            "sbom", "--dpkg-status", status, "--image", Image, "--image", "registry.k8s.io/pause:3.9@sha256:" + new string('c', 64),
            "-o", dir["site.cdx.json"]);
        Assert.True(r.ExitCode == 0, r.Error);
        File.WriteAllBytes(dir["sample.cdx.json"], CycloneDxWriter.Write(Input()));

        // A broken copy must fail, so a pass means the schema really was applied.
        var broken = JsonNode.Parse(File.ReadAllText(dir["site.cdx.json"]))!;
        broken["components"]![0]!["type"] = "gadget";
        File.WriteAllText(dir["broken.cdx.json"], broken.ToJsonString());

        var v = NpmCache.RunScript(npm, "validate-bom.js", ValidateScript, dir["site.cdx.json"], dir["sample.cdx.json"], dir["broken.cdx.json"]);
        var lines = v.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains($"valid {dir["site.cdx.json"]}", lines);
        Assert.Contains($"valid {dir["sample.cdx.json"]}", lines);
        Assert.StartsWith($"invalid {dir["broken.cdx.json"]}: data/components/0/type must be equal to one of the allowed values", lines[2]);
        Assert.Equal(1, v.ExitCode);
    }

    [Fact]
    [Trait("Category", "External")]
    public void Sbom_lists_every_package_dpkg_query_reports_installed()
    {
        var status = RealDpkgStatus();
        var dpkgQuery = Tools.Require("dpkg-query");
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["admin"]);
        File.Copy(status, dir["admin/status"]);
        var q = ProcessRunner.Run(dpkgQuery, ["--admindir=" + dir["admin"], "-W", "-f", "${Package}\t${Version}\t${Architecture}\t${db:Status-Status}\n"]);
        Assert.True(q.ExitCode == 0, q.Error);
        var expected = q.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t'))
            .Where(f => f[3] == "installed")
            .Select(f => CycloneDxWriter.DebPurl(new DebianPackage(f[0], f[1], f[2]), "debian-12"))
            .ToHashSet();
        Assert.NotEmpty(expected);

        var r = CliRunner.Run("sbom", "--dpkg-status", dir["admin/status"], "-o", dir["os.cdx.json"]);
        Assert.True(r.ExitCode == 0, r.Error);
        var listed = JsonNode.Parse(File.ReadAllText(dir["os.cdx.json"]))!["components"]!.AsArray()
            .Where(c => (string?)c!["type"] == "library").Select(c => (string)c!["purl"]!).ToHashSet();
        Assert.Empty(expected.Except(listed));
        Assert.Empty(listed.Except(expected));
        Assert.Contains($"{expected.Count} Debian packages", r.Out);
    }
}
