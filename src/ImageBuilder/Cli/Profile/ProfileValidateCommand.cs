// `appliance profile validate FILE...`: loads each profile and reports every problem.
using System.Text;
using System.Text.Json;
using Appliance.ImageBuilder.Profiles;

namespace Appliance.ImageBuilder.Cli.Profile;

/// <summary>Validates profiles; exit 0 when all are valid, 2 otherwise.</summary>
public sealed class ProfileValidateCommand(CliContext ctx, bool verbose)
{
    /// <summary>Validates <paramref name="files"/> and prints the outcome in <paramref name="output"/> form.</summary>
    public int Execute(IReadOnlyList<string> files, OutputFormat output)
    {
        var results = files.Select(f => ProfileLoading.Load(ctx, f, verbose)).ToList();
        var bad = results.Where(r => !r.IsValid).ToList();
        if (output == OutputFormat.Json)
        {
            ctx.Out.Write(ToJson(results));
        }
        else
        {
            foreach (var r in results)
            {
                if (r.IsValid)
                    ctx.Out.WriteLine($"{r.File}: valid");
                else
                    ProfileLoading.WriteProblems(ctx.Error, r);
            }
            if (bad.Count > 0)
                ctx.Error.WriteLine($"appliance: {bad.Sum(r => r.Problems.Count)} problem(s) in {bad.Count} of {results.Count} profile(s)");
        }
        return bad.Count == 0 ? ExitCodes.Ok : ExitCodes.BadInput;
    }

    private static string ToJson(IReadOnlyList<LoadResult> results)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteBoolean("valid", results.All(r => r.IsValid));
            w.WriteStartArray("profiles");
            foreach (var r in results)
            {
                w.WriteStartObject();
                w.WriteString("file", r.File);
                w.WriteBoolean("valid", r.IsValid);
                w.WriteStartArray("problems");
                foreach (var p in r.Problems)
                {
                    w.WriteStartObject();
                    w.WriteString("file", p.File);
                    w.WriteNumber("line", p.Line);
                    w.WriteNumber("column", p.Column);
                    w.WriteString("path", p.Path);
                    w.WriteString("message", r.Secrets.Redactor.Redact(p.Message));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }
}
