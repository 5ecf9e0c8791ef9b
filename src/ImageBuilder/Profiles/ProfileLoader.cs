// Loads a site profile: reads the extends chain, merges it, binds the model, resolves secrets, validates.
using Appliance.Common.Pki;
using Appliance.ImageBuilder.Profiles.Binding;
using Appliance.ImageBuilder.Profiles.Model;
using Appliance.ImageBuilder.Profiles.Validation;
using Appliance.ImageBuilder.Profiles.Yaml;

namespace Appliance.ImageBuilder.Profiles;

/// <summary>
/// Loads site profiles. <c>${env:NAME}</c> references are read through <paramref name="getEnvironment"/>;
/// debug lines go to <paramref name="log"/> (they never contain secret values).
/// </summary>
public sealed class ProfileLoader(Func<string, string?> getEnvironment, Action<string>? log = null)
{
    /// <summary>Longest accepted extends chain; it stops paths that loop through symbolic links.</summary>
    public const int MaxDepth = 16;

    /// <summary>Loads <paramref name="path"/> with the given environment.</summary>
    public static LoadResult Load(string path, Func<string, string?> getEnvironment) => new ProfileLoader(getEnvironment).Load(path);

    /// <summary>Loads, merges, resolves and validates the profile at <paramref name="path"/>. Never throws for bad input.</summary>
    public LoadResult Load(string path)
    {
        var problems = new List<ProfileProblem>();
        var chain = new List<string>();
        var secrets = new List<string>();
        SiteProfile? profile = null;
        ClusterPkiDirectory? pki = null;
        var tree = ReadChain(path, [], chain, problems);
        if (tree is not null)
        {
            var binder = new ModelBinder(getEnvironment, problems, log);
            profile = binder.Bind<SiteProfile>(tree);
            secrets.AddRange(binder.Secrets);
            ResolveToken(profile, binder, problems, secrets);
            pki = ResolvePki(profile, binder, problems, secrets);
            new ProfileValidator(binder.Marks, binder.KeyMarks, binder.Bound, problems).Validate(profile);
        }
        var ordered = problems
            .Distinct()
            .OrderBy(p => chain.IndexOf(p.File) is var i && i < 0 ? int.MaxValue : i)
            .ThenBy(p => p.File, StringComparer.Ordinal)
            .ThenBy(p => p.Line).ThenBy(p => p.Column)
            .ThenBy(p => p.Path, StringComparer.Ordinal)
            .ToList();
        var result = new LoadResult(path, profile, ordered, new ProfileSecrets(profile?.Cluster.Token, secrets, pki), chain);
        log?.Invoke(result.Secrets.Redactor.Redact($"{path}: {(ordered.Count == 0 ? "valid" : $"{ordered.Count} problem(s)")}"));
        return result;
    }

    /// <summary>Reads <paramref name="display"/> and every parent it extends, and returns the merged tree.</summary>
    private YNode? ReadChain(string display, List<string> stack, List<string> chain, List<ProfileProblem> problems)
    {
        var full = Path.GetFullPath(display);
        chain.Add(display);
        string text;
        try
        {
            text = File.ReadAllText(full);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problems.Add(new ProfileProblem(display, 0, 0, "", ex is FileNotFoundException or DirectoryNotFoundException
                ? "profile file not found" : $"cannot read the profile: {ex.Message}"));
            return null;
        }
        log?.Invoke($"{display}: read {text.Length} characters");
        var tree = YamlTreeReader.Read(text, display, problems);
        if (tree is null)
            return null;
        if (tree is not YMapping map)
        {
            problems.Add(ProfileProblem.At(tree.Mark, "(root)", $"expected a mapping of profile fields, got {tree.KindName}"));
            return null;
        }
        if (map.Find("extends") is not { } ext)
            return map;

        var own = new YMapping(map.Mark, map.Entries.Where(e => e.Key.Value != "extends").ToList());
        if (ext.Value is not YScalar { IsNull: false } target)
        {
            problems.Add(ProfileProblem.At(ext.Value.Mark, "extends", $"expected the path of a parent profile, got {ext.Value.KindName}"));
            return null;
        }
        var parentDisplay = Lexical.Combine(Path.GetDirectoryName(display) ?? "", target.Value);
        var parentFull = Path.GetFullPath(parentDisplay);
        stack.Add(full);
        try
        {
            if (stack.Count >= MaxDepth)
            {
                problems.Add(ProfileProblem.At(ext.Key.Mark, "extends", $"extends chain is deeper than {MaxDepth} profiles"));
                return null;
            }
            int loop = stack.IndexOf(parentFull);
            if (loop >= 0)
            {
                var cycle = chain.Skip(loop).Append(parentDisplay);
                problems.Add(ProfileProblem.At(ext.Key.Mark, "extends", $"extends cycle: {string.Join(" -> ", cycle)}"));
                return null;
            }
            if (!File.Exists(parentFull))
            {
                problems.Add(ProfileProblem.At(ext.Key.Mark, "extends", $"parent profile '{target.Value}' not found (the path is relative to this file)"));
                return null;
            }
            log?.Invoke($"{display}: extends {parentDisplay}");
            var parent = ReadChain(parentDisplay, stack, chain, problems);
            return parent is null ? null : ProfileMerger.Merge(parent, own);
        }
        finally
        {
            stack.RemoveAt(stack.Count - 1);
        }
    }

    /// <summary>Applies cluster.tokenFile: reads it relative to its profile, keeps the value as a secret.</summary>
    private void ResolveToken(SiteProfile profile, ModelBinder binder, List<ProfileProblem> problems, List<string> secrets)
    {
        var c = profile.Cluster;
        binder.Marks.TryGetValue("cluster.tokenFile", out var fileMark);
        // With a token given, or neither, there is nothing to read; the validator reports a missing or second choice.
        if (!binder.Bound.Contains("cluster") || binder.Marks.ContainsKey("cluster.token") || c.TokenFile is not { } file)
            return;
        string token;
        try
        {
            token = File.ReadAllText(file.FullPath).TrimEnd('\r', '\n', ' ', '\t');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problems.Add(ProfileProblem.At(fileMark, "cluster.tokenFile", ex is FileNotFoundException or DirectoryNotFoundException
                ? $"token file '{file.Written}' not found (relative to the profile that names it)"
                : $"cannot read token file '{file.Written}': {ex.GetType().Name}"));
            return;
        }
        if (token.Length == 0)
        {
            problems.Add(ProfileProblem.At(fileMark, "cluster.tokenFile", $"token file '{file.Written}' is empty"));
            return;
        }
        if (token.Contains('\n'))
        {
            problems.Add(ProfileProblem.At(fileMark, "cluster.tokenFile", $"token file '{file.Written}' holds more than one line"));
            return;
        }
        secrets.Add(token);
        c.Token = token;
        log?.Invoke($"{fileMark}: cluster.tokenFile: read the token from {file.Written} ({token.Length} characters)");
    }

    /// <summary>
    /// Applies cluster.pki: reads and checks the directory (relative to its profile), takes its token when the profile
    /// gives none, and reports a given token that differs. Its keys and token are secrets.
    /// </summary>
    private ClusterPkiDirectory? ResolvePki(SiteProfile profile, ModelBinder binder, List<ProfileProblem> problems, List<string> secrets)
    {
        var c = profile.Cluster;
        if (!binder.Bound.Contains("cluster.pki") || c.Pki is not { } dir)
            return null;
        var mark = binder.Marks["cluster.pki"];
        ClusterPkiDirectory pki;
        try
        {
            pki = ClusterPkiDirectory.Read(dir.FullPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            problems.Add(ProfileProblem.At(mark, "cluster.pki", ex switch
            {
                DirectoryNotFoundException => $"cluster PKI directory '{dir.Written}' not found (relative to the profile that names it; make one with 'appliance cluster init DIR')",
                InvalidDataException => $"'{dir.Written}': {WithoutPrefix(ex.Message, dir.FullPath + ": ")} (make a new one with 'appliance cluster init DIR')",
                _ => $"cannot read cluster PKI '{dir.Written}': {ex.Message}",
            }));
            return null;
        }
        var token = pki.Pki.Token.ToString();
        secrets.AddRange([token, .. pki.Pki.TlsFiles.Select(f => f.Value), pki.Admin.KeyPem]);
        if (c.Token is null)
            c.Token = token;
        else if (c.Token != token)
        {
            var field = binder.Marks.ContainsKey("cluster.tokenFile") && !binder.Marks.ContainsKey("cluster.token") ? "cluster.tokenFile" : "cluster.token";
            binder.Marks.TryGetValue(field, out var at);
            problems.Add(ProfileProblem.At(at, field, $"the token differs from the token of cluster.pki '{dir.Written}' ({ClusterPkiFiles.Token} there); " +
                "leave it out (the PKI's token is used) or give that token"));
        }
        static string WithoutPrefix(string text, string prefix) => text.StartsWith(prefix, StringComparison.Ordinal) ? text[prefix.Length..] : text;
        log?.Invoke($"{mark}: cluster.pki: read the cluster PKI from {dir.Written} (server CA sha256 {pki.Pki.Token.CaHash})");
        return pki;
    }
}

/// <summary>Path arithmetic on the text of a path, so parents are shown as "profiles/base.yaml", not "profiles/sites/../base.yaml".</summary>
internal static class Lexical
{
    public static string Combine(string directory, string relative)
    {
        if (Path.IsPathRooted(relative))
            return Normalize(relative);
        return Normalize(directory.Length == 0 ? relative : directory + "/" + relative);
    }

    public static string Normalize(string path)
    {
        bool rooted = path.StartsWith('/');
        var parts = new List<string>();
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".") continue;
            if (part == ".." && parts.Count > 0 && parts[^1] != "..")
                parts.RemoveAt(parts.Count - 1);
            else if (part != ".." || !rooted)
                parts.Add(part);
        }
        var joined = string.Join('/', parts);
        return rooted ? "/" + joined : joined.Length == 0 ? "." : joined;
    }
}
